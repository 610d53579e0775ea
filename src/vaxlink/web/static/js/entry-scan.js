// Camera scan of the chip ID card QR with the vendored zxing-wasm reader (no download at run
// time: the wasm is served from /static/vendor). Without JS or a camera, the page still offers
// a photo upload (decoded on the server) and typing the ID number.
(function () {
  "use strict";
  var section = document.getElementById("scan");
  if (!section || !window.ZXingWASM) { return; }
  var start = document.getElementById("scan-start");
  var stop = document.getElementById("scan-stop");
  var video = document.getElementById("scan-video");
  var hint = document.getElementById("scan-hint");
  var unavailable = document.getElementById("scan-unavailable");
  var field = document.getElementById("chip-qr");
  var form = document.getElementById("scan-form");
  var stream = null;
  var timer = null;

  window.ZXingWASM.prepareZXingModule({
    overrides: {
      locateFile: function (path, prefix) {
        return path.endsWith(".wasm") ? "/static/vendor/zxing-wasm/" + path : prefix + path;
      }
    }
  });
  section.hidden = false;
  var cameraApi = navigator.mediaDevices && navigator.mediaDevices.getUserMedia;
  if (!cameraApi) {
    start.hidden = true;
    unavailable.hidden = false;
    return;
  }

  function halt() {
    if (timer) { clearTimeout(timer); timer = null; }
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); stream = null; }
    video.hidden = true; hint.hidden = true; stop.hidden = true; start.hidden = false;
  }

  var canvas = document.createElement("canvas");
  var ctx = canvas.getContext("2d", { willReadFrequently: true });
  var options = { formats: ["QRCode"], tryHarder: true, maxNumberOfSymbols: 1 };

  function tick() {
    if (!stream) { return; }
    if (video.readyState >= 2 && video.videoWidth > 0) {
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      ctx.drawImage(video, 0, 0);
      var frame = ctx.getImageData(0, 0, canvas.width, canvas.height);
      window.ZXingWASM.readBarcodes(frame, options).then(function (results) {
        var hit = results.find(function (r) { return r.isValid && r.text; });
        if (hit && hit.text.indexOf("|") > 0) {
          halt();
          field.value = hit.text;
          form.submit();
        } else {
          timer = setTimeout(tick, 200);
        }
      }, function () { timer = setTimeout(tick, 500); });
      return;
    }
    timer = setTimeout(tick, 200);
  }

  start.addEventListener("click", function () {
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
      .then(function (s) {
        stream = s;
        video.srcObject = s;
        video.hidden = false; hint.hidden = false; stop.hidden = false; start.hidden = true;
        return video.play();
      })
      .then(tick)
      .catch(function () { halt(); start.hidden = true; unavailable.hidden = false; });
  });
  stop.addEventListener("click", halt);
})();
