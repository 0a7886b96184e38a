// Photos from the camera are large (12 MP and more); the phone scales them down to at most
// `maxSide` pixels on the longer side and re-encodes them as JPEG before they are stored or sent.
(function (Field) {
  "use strict";

  function loadImage(file) {
    return new Promise(function (resolve, reject) {
      var url = URL.createObjectURL(file);
      var image = new Image();
      image.onload = function () { URL.revokeObjectURL(url); resolve(image); };
      image.onerror = function () { URL.revokeObjectURL(url); reject(new Error("not an image")); };
      image.src = url;
    });
  }

  async function decode(file) {
    if ("createImageBitmap" in window) {
      try {
        // Honour the camera's EXIF orientation, so that portrait photos stay upright.
        return await createImageBitmap(file, { imageOrientation: "from-image" });
      } catch (exc) {
        // Some browsers decode fewer formats this way than with an <img>; fall through.
      }
    }
    return loadImage(file);
  }

  function encode(canvas, quality) {
    return new Promise(function (resolve, reject) {
      canvas.toBlob(function (blob) {
        if (blob) { resolve(blob); } else { reject(new Error("could not encode the photo")); }
      }, "image/jpeg", quality);
    });
  }

  // Resolves to a JPEG Blob no larger than maxSide × maxSide; rejects for files that are not images.
  async function downscale(file, maxSide, quality) {
    var source = await decode(file);
    var width = source.width;
    var height = source.height;
    if (!width || !height) {
      throw new Error("empty image");
    }
    var scale = Math.min(1, maxSide / Math.max(width, height));
    var canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(width * scale));
    canvas.height = Math.max(1, Math.round(height * scale));
    var context = canvas.getContext("2d");
    context.fillStyle = "#fff"; // transparent PNGs become white, not black, as JPEG
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.drawImage(source, 0, 0, canvas.width, canvas.height);
    if (source.close) { source.close(); }
    return encode(canvas, quality);
  }

  Field.photo = { downscale: downscale };
})(window.Field = window.Field || {});
