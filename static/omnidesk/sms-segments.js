/* SMS segment counter for the composer: a plain browser script, no build step.
 *
 * window.OmnideskSms.count(text) -> {encoding, characters, units, segments, perSegment, remaining, ucs2Culprit}
 *
 * Mirrors omnidesk/plugin_api/sms.py exactly (a test runs both over the same cases with node):
 * 160 GSM-7 septets or 70 UCS-2 units in one SMS, 153 or 67 per part when concatenated; GSM-7 extension
 * characters cost two septets, characters outside the BMP two UCS-2 units, and neither is split across parts;
 * one character outside GSM-7 makes the whole message UCS-2 (ucs2Culprit names the first such character).
 * `characters` counts code points, like Python's len().
 */
(function (root) {
  "use strict";

  // GSM 03.38 default alphabet (without the escape code) and its extension table.
  var BASIC = "\u000a\u000d !\u0022#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz" +
    "\u00a1\u00a3\u00a4\u00a5\u00a7\u00bf\u00c4\u00c5\u00c6\u00c7\u00c9\u00d1\u00d6\u00d8\u00dc\u00df\u00e0\u00e4" +
    "\u00e5\u00e6\u00e8\u00e9\u00ec\u00f1\u00f2\u00f6\u00f8\u00f9\u00fc\u0393\u0394\u0398\u039b\u039e\u03a0\u03a3" +
    "\u03a6\u03a8\u03a9";
  var EXTENSION = "\u000c[\u005c]^{|}~\u20ac";
  var GSM7 = "GSM-7";
  var UCS2 = "UCS-2";
  var SINGLE = { "GSM-7": 160, "UCS-2": 70 };
  var CONCATENATED = { "GSM-7": 153, "UCS-2": 67 };

  function toSet(chars) {
    var set = Object.create(null);
    for (var i = 0; i < chars.length; i++) set[chars.charAt(i)] = true;
    return set;
  }
  var basicSet = toSet(BASIC);
  var extensionSet = toSet(EXTENSION);

  function isGsm7(character) {
    return basicSet[character] === true || extensionSet[character] === true;
  }

  function cost(character, encoding) {
    if (encoding === GSM7) return extensionSet[character] === true ? 2 : 1;
    return character.codePointAt(0) > 0xffff ? 2 : 1;
  }

  function count(text) {
    text = String(text == null ? "" : text);
    var characters = Array.from(text); // code points; a lone surrogate stays one element
    var culprit = null;
    for (var i = 0; i < characters.length; i++) {
      if (!isGsm7(characters[i])) { culprit = characters[i]; break; }
    }
    var encoding = culprit === null ? GSM7 : UCS2;
    var costs = characters.map(function (c) { return cost(c, encoding); });
    var units = costs.reduce(function (a, b) { return a + b; }, 0);
    if (units <= SINGLE[encoding]) {
      return {
        encoding: encoding, characters: characters.length, units: units, segments: characters.length ? 1 : 0,
        perSegment: SINGLE[encoding], remaining: SINGLE[encoding] - units, ucs2Culprit: culprit,
      };
    }
    var perSegment = CONCATENATED[encoding];
    var segments = 1;
    var used = 0;
    costs.forEach(function (c) {
      if (used + c > perSegment) { segments += 1; used = 0; } // a two-unit character never straddles parts
      used += c;
    });
    return {
      encoding: encoding, characters: characters.length, units: units, segments: segments,
      perSegment: perSegment, remaining: perSegment - used, ucs2Culprit: culprit,
    };
  }

  root.OmnideskSms = { count: count, isGsm7: isGsm7, alphabet: { basic: BASIC, extension: EXTENSION } };
})(typeof window !== "undefined" ? window : globalThis);
