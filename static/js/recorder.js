/* Record the identity challenge sentence in the browser (MediaRecorder) and put the
   recording into the form's file input, so the form submits it like an upload. Without
   this script (or a microphone) the performer uploads a recording instead. */
(function () {
  "use strict";
  var box = document.querySelector("[data-recorder]");
  if (!box || !window.MediaRecorder || !navigator.mediaDevices || !window.DataTransfer) return;
  var input = document.getElementById(box.getAttribute("data-input"));
  var start = box.querySelector("[data-start]");
  var stop = box.querySelector("[data-stop]");
  var preview = box.querySelector("audio");
  var status = box.querySelector("[data-status]");
  var types = ["audio/webm;codecs=opus", "audio/webm", "audio/ogg;codecs=opus", "audio/ogg"];
  var recorder = null;
  var chunks = [];
  box.hidden = false;

  function say(text) { status.textContent = text; }

  start.addEventListener("click", function () {
    navigator.mediaDevices.getUserMedia({ audio: true }).then(function (stream) {
      var type = types.filter(function (t) { return MediaRecorder.isTypeSupported(t); })[0];
      recorder = new MediaRecorder(stream, type ? { mimeType: type } : {});
      chunks = [];
      recorder.ondataavailable = function (e) { if (e.data && e.data.size) chunks.push(e.data); };
      recorder.onstop = function () {
        stream.getTracks().forEach(function (t) { t.stop(); });
        var mime = (recorder.mimeType || "audio/webm").split(";")[0];
        var blob = new Blob(chunks, { type: mime });
        var ext = mime.indexOf("ogg") >= 0 ? "ogg" : "webm";
        var files = new DataTransfer();
        files.items.add(new File([blob], "challenge." + ext, { type: mime }));
        input.files = files.files;
        preview.src = URL.createObjectURL(blob);
        preview.hidden = false;
        start.disabled = false;
        stop.disabled = true;
        start.textContent = "Record again";
        say("Recorded (" + Math.max(1, Math.round(blob.size / 1024)) + " KB). Listen to it, then submit.");
      };
      recorder.start();
      start.disabled = true;
      stop.disabled = false;
      say("Recording… read the sentence aloud, then press Stop.");
    }).catch(function () {
      say("No microphone is available here: upload a recording of the sentence instead.");
    });
  });

  stop.addEventListener("click", function () {
    if (recorder && recorder.state !== "inactive") recorder.stop();
  });
})();
