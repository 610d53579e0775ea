"""The texts printed on the certificate PDF (registered with the catalogue; the PDF prints both
languages, Vietnamese first, each through `vaxlink.catalogue.text_in`)."""

from __future__ import annotations

from typing import Final

STRINGS: Final[dict[str, dict[str, str]]] = {
    "vi": {
        "certificates.pdf.title.v": "Giấy chứng nhận tiêm chủng COVID-19",
        "certificates.pdf.title.r": "Giấy chứng nhận khỏi bệnh COVID-19",
        "certificates.pdf.section.v": "Thông tin tiêm chủng",
        "certificates.pdf.section.r": "Thông tin khỏi bệnh",
        "certificates.pdf.subtitle": "Chứng nhận COVID kỹ thuật số EU",
        "certificates.pdf.name": "Họ và tên",
        "certificates.pdf.standardised_name": "Họ tên chuẩn hoá",
        "certificates.pdf.date_of_birth": "Ngày sinh",
        "certificates.pdf.certificate_id": "Mã chứng nhận",
        "certificates.pdf.scan": "Quét mã để xác thực chữ ký số",
        "certificates.pdf.disease": "Bệnh được phòng",
        "certificates.pdf.vaccine_prophylaxis": "Loại vắc xin",
        "certificates.pdf.product": "Tên vắc xin",
        "certificates.pdf.manufacturer": "Nhà sản xuất",
        "certificates.pdf.dose": "Mũi tiêm",
        "certificates.pdf.date_of_vaccination": "Ngày tiêm",
        "certificates.pdf.country_of_vaccination": "Quốc gia tiêm chủng",
        "certificates.pdf.issuer": "Đơn vị cấp",
        "certificates.pdf.disease_recovered": "Bệnh đã khỏi",
        "certificates.pdf.first_positive": "Ngày xét nghiệm dương tính đầu tiên",
        "certificates.pdf.country_of_test": "Quốc gia xét nghiệm",
        "certificates.pdf.valid_from": "Có giá trị từ ngày",
        "certificates.pdf.valid_until": "Có giá trị đến ngày",
        "certificates.pdf.notice": "Giấy chứng nhận này chỉ có giá trị khi mã QR được xác thực "
        "bằng ứng dụng kiểm tra chính thức. Thông tin in trên giấy chỉ để tham khảo.",
    },
    "en": {
        "certificates.pdf.title.v": "COVID-19 Vaccination Certificate",
        "certificates.pdf.title.r": "COVID-19 Recovery Certificate",
        "certificates.pdf.section.v": "Vaccination details",
        "certificates.pdf.section.r": "Recovery details",
        "certificates.pdf.subtitle": "EU Digital COVID Certificate",
        "certificates.pdf.name": "Name",
        "certificates.pdf.standardised_name": "Standardised name",
        "certificates.pdf.date_of_birth": "Date of birth",
        "certificates.pdf.certificate_id": "Certificate identifier",
        "certificates.pdf.scan": "Scan to verify the digital signature",
        "certificates.pdf.disease": "Disease or agent targeted",
        "certificates.pdf.vaccine_prophylaxis": "Vaccine / prophylaxis",
        "certificates.pdf.product": "Vaccine medicinal product",
        "certificates.pdf.manufacturer": "Manufacturer / marketing authorisation holder",
        "certificates.pdf.dose": "Dose number / total in series",
        "certificates.pdf.date_of_vaccination": "Date of vaccination",
        "certificates.pdf.country_of_vaccination": "Member State / country of vaccination",
        "certificates.pdf.issuer": "Certificate issuer",
        "certificates.pdf.disease_recovered": "Disease or agent recovered from",
        "certificates.pdf.first_positive": "Date of first positive test result",
        "certificates.pdf.country_of_test": "Member State / country of test",
        "certificates.pdf.valid_from": "Certificate valid from",
        "certificates.pdf.valid_until": "Certificate valid until",
        "certificates.pdf.notice": "This certificate is valid only when its QR code is verified "
        "with an official verifier app. The printed data is for information only.",
    },
}
