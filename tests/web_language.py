"""Language purity of a rendered page: no English in a Vietnamese page, no Vietnamese in an
English one, and no raw JSON where a person expected a page (#17).

    from tests.web_language import assert_page_language, visible_texts

    page.goto(url)
    assert_page_language(page, "vi")      # fails with the offending words and where they are

What is checked is what a person reads: the text of the body (every text node, also of closed
`<details>` and hidden parts a script may show), the title, and the `title`, `placeholder`,
`aria-label` and `alt` attributes and the labels of buttons (a textarea's text is what was
typed, like an input's value: data). Data is not UI: a subtree marked
`translate="no"` (the HTML attribute for "this is not to be translated": names, places, site
names, vaccine products, codes) is skipped, and so is one marked with another `lang` (the
language switch names the other language in that language). Form fields' typed values are data.

Detection:
- Vietnamese page: a word with letters only that is not a Vietnamese syllable (written with or
  without its marks) and not on `ALLOWED` is English (or another language). Vietnamese written
  without marks is ASCII, so ASCII alone proves nothing; but English words are almost never
  well-formed Vietnamese syllables ("status", "verified", "date", "and", "of" are not), while
  the few that are ("to", "no", "in", "the") are also Vietnamese words and pass.
- English page: any letter with a Vietnamese mark (ă â đ ê ô ơ ư or a tone mark) is Vietnamese.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Final

#: Tokens a Vietnamese page may show although they are not Vietnamese syllables, each because
#: there is no Vietnamese word people use instead. Keep it short; data belongs in translate="no".
ALLOWED: Final = frozenset(
    {
        "vaxlink",  # the product's name
        "qr",  # "mã QR": the word people use
        "pdf",
        "jpeg",
        "png",
        "mb",  # file types and sizes as phones and computers name them
        "excel",
        "xlsx",
        "csv",  # the file types staff exchange
        "eu",
        "dcc",  # "EU DCC": the name of the certificate standard
        "who",
        "ddcc",  # WHO DDCC: the name of the other standard
        "uvci",  # the certificate identifier's name in the standard
        "cccd",
        "cmnd",
        "csdl",  # Vietnamese abbreviations (căn cước công dân, chứng minh nhân dân)
        "ubnd",
        "ttyt",  # Vietnamese abbreviation (trung tâm y tế: the district health centre)
        "nvy",  # in the campaign document's number 2665/SYT-NVY (nghiệp vụ y)
        "cdc",  # Vietnamese abbreviations (ủy ban nhân dân, trung tâm kiểm soát bệnh tật)
        "otp",
        "totp",  # one-time codes: the word on phones and in authenticator apps
        "id",  # "ID" as in the ID number people read on their card
        "email",  # the word people use
        "javascript",  # the name of what a browser must run for the offline verifier
        "camera",  # the word Vietnamese use for a phone's camera
        "htmx",  # never shown; in noscript hints
        "dsc",
        "csca",  # the names of the two signing keys of the standard
        "covid",
        "sars",
        "cov",  # the disease's name
        "kid",  # "kid": the key identifier's name in the standard (shown beside its hex value)
        "hc",  # "HC1:" the prefix of a certificate's text
    }
)

_ONSET: Final = "(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|b|c|d|g|h|k|l|m|n|p|r|s|t|v|x)?"
#: Vowel groups (marks stripped) that may take a final consonant, and those that end the syllable.
_OPEN: Final = "uye|uya|ye|ie|uo|ua|oa|oe|ue|uy|oo|a|e|i|o|u|y"
_CLOSED: Final = "oai|oao|oay|oeo|uay|uoi|uou|uyu|yeu|ieu|ai|ao|au|ay|eo|eu|ia|iu|oi|ui|uu"
_SYLLABLE: Final = re.compile(rf"^{_ONSET}(?:(?:{_OPEN})(?:ng|nh|ch|c|m|n|p|t)?|(?:{_CLOSED}))$")
_MARKS: Final = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323", "\u0302", "\u0306", "\u031b"}
_WORD: Final = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")


def strip_marks(word: str) -> str:
    """The word without its Vietnamese marks ("Người" -> "Nguoi")."""
    decomposed = unicodedata.normalize("NFD", word.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if c not in _MARKS)


def has_vietnamese_mark(word: str) -> bool:
    """True if a letter of `word` carries a Vietnamese mark, or is đ."""
    if "đ" in word or "Đ" in word:
        return True
    return any(c in _MARKS for c in unicodedata.normalize("NFD", word))


def is_vietnamese_syllable(word: str) -> bool:
    """True if `word` is a well-formed Vietnamese syllable, with or without its marks."""
    return bool(_SYLLABLE.match(strip_marks(word).lower()))


def english_words(text: str) -> list[str]:
    """Words of `text` that do not belong in a Vietnamese page."""
    out = []
    for word in _WORD.findall(text):
        if len(word) < 2 or word.lower() in ALLOWED or any(c.isdigit() for c in word):
            continue  # codes and figures (MT000101, 12a) are data
        if "'" in word or "’" in word or not is_vietnamese_syllable(word):
            out.append(word)
    return out


def vietnamese_words(text: str) -> list[str]:
    """Words of `text` that carry Vietnamese marks (which do not belong in an English page)."""
    return [w for w in _WORD.findall(text) if has_vietnamese_mark(w)]


#: Collects what a person reads, as [where, text] pairs, skipping data subtrees.
_COLLECT_JS: Final = r"""
() => {
  const lang = (document.documentElement.getAttribute('lang') || '').toLowerCase();
  const out = [['title', document.title]];
  const skipTags = new Set(['SCRIPT', 'STYLE', 'TEMPLATE', 'NOSCRIPT', 'svg', 'SVG', 'TEXTAREA']);
  const where = (el) => {
    let s = el.tagName.toLowerCase();
    if (el.id) s += '#' + el.id;
    else if (el.className && typeof el.className === 'string') s += '.' + el.className.split(' ')[0];
    const p = el.parentElement;
    if (p && p !== document.body) s = (p.id ? p.tagName.toLowerCase() + '#' + p.id : p.tagName.toLowerCase()) + ' > ' + s;
    return s;
  };
  const walk = (el) => {
    if (skipTags.has(el.tagName)) return;
    if (el.getAttribute('translate') === 'no') return;
    const own = el.getAttribute('lang');
    if (own !== null && own.toLowerCase() !== lang) return;
    for (const a of ['title', 'placeholder', 'aria-label', 'alt']) {
      const v = el.getAttribute(a);
      if (v) out.push([where(el) + '[' + a + ']', v]);
    }
    if (el.tagName === 'INPUT' && ['submit', 'button', 'reset'].includes(el.type) && el.value) {
      out.push([where(el) + '[value]', el.value]);
    }
    for (const node of el.childNodes) {
      if (node.nodeType === Node.TEXT_NODE) {
        const text = node.textContent.trim();
        if (text) out.push([where(el), text]);
      } else if (node.nodeType === Node.ELEMENT_NODE) {
        walk(node);
      }
    }
  };
  if (document.body) walk(document.body);
  return out;
}
"""


def visible_texts(page: Any) -> list[tuple[str, str]]:
    """(where, text) pairs a person reads on `page`, data subtrees left out."""
    return [(w, t) for w, t in page.evaluate(_COLLECT_JS)]


@dataclass(frozen=True)
class Finding:
    where: str
    text: str
    words: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.where}: {' '.join(self.words)!r} in {self.text[:120]!r}"


def findings(page: Any, lang: str) -> list[Finding]:
    """What on `page` is not in `lang` ("vi" or "en")."""
    check = english_words if lang == "vi" else vietnamese_words
    out = []
    for where, text in visible_texts(page):
        words = check(text)
        if words:
            out.append(Finding(where, text, tuple(words)))
    return out


def raw_json(page: Any) -> str | None:
    """Why `page` is raw JSON rather than a page (content type or body), or None."""
    kind = page.evaluate("document.contentType") or ""
    if "json" in kind:
        return f"content type {kind}"
    body = page.evaluate("document.body ? document.body.innerText : ''").strip()
    if body[:1] in "{[" and body:
        try:
            json.loads(body)
        except ValueError:
            return None
        return "the body is JSON"
    return None


def assert_page_language(page: Any, lang: str) -> None:
    """Fail if `page` is raw JSON, is not marked `lang`, or shows text of the other language."""
    why = raw_json(page)
    assert why is None, f"{page.url} is raw JSON ({why}): {page.inner_text('body')[:300]}"
    marked = page.evaluate("document.documentElement.getAttribute('lang')")
    assert marked == lang, f"{page.url} is marked lang={marked!r}, expected {lang!r}"
    found = findings(page, lang)
    assert not found, f"{page.url} ({lang}) shows text of the other language:\n" + "\n".join(
        f"  {f}" for f in found
    )
