// Reads a JSON array of URI strings on stdin and writes, for each, what digital-link.js (the
// EVRYTHNG/Digimarc GS1 Digital Link toolkit, tools/node/package.json) makes of it, as a JSON array
// in the same order:
//   valid       DigitalLink(uri).isValid(): the GS1 Digital Link ABNF grammar and the check digit
//               of the primary key
//   grammar     whether the ABNF grammar alone accepts it (getValidationTrace().success)
//   checkDigit  DigitalLink(uri).isCheckDigitValid(); null when it throws (its check digit
//               calculator does on a GTIN that is not all ASCII digits)
//   unmatched   where the grammar stopped matching (the remainder of the trace), when it refused
//   webUri      the URI as digital-link.js writes it back (toWebUriString()), which is what
//               isValid() checks: equal to the input when it read every part of it
//   identifier  the primary key it read ({"01": "<GTIN>"}), keyQualifiers ({"21": "<serial>"},
//               still percent-encoded), attributes (the query string, linkType included)
//   error       the message when DigitalLink(uri) refuses to parse it at all
// Used by tests/passport/test_digital_link_thirdparty.py; one process checks a whole batch.
'use strict';

const { DigitalLink } = require('digital-link.js');

const attempt = (fn) => {
  try {
    return fn();
  } catch (err) {
    return null;
  }
};

const check = (uri) => {
  let dl;
  try {
    dl = DigitalLink(uri);
  } catch (err) {
    return { uri, valid: false, grammar: false, checkDigit: false, error: String(err.message || err) };
  }
  const { trace, success } = dl.getValidationTrace();
  const last = trace.length ? trace[trace.length - 1] : null;
  return {
    uri,
    valid: attempt(() => dl.isValid()) === true,
    grammar: success,
    checkDigit: attempt(() => dl.isCheckDigitValid()),
    unmatched: success ? '' : (last ? last.remainder : dl.toWebUriString()),
    webUri: dl.toWebUriString(),
    identifier: dl.getIdentifier(),
    keyQualifiers: dl.getKeyQualifiers(),
    attributes: dl.getAttributes(),
    error: null,
  };
};

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
  const uris = JSON.parse(input);
  if (!Array.isArray(uris) || !uris.every((u) => typeof u === 'string')) {
    process.stderr.write('check-digital-links: stdin must be a JSON array of strings\n');
    process.exit(2);
  }
  process.stdout.write(JSON.stringify(uris.map(check)));
});
