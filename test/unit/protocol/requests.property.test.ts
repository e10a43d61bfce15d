/** fast-check round trips decode(encode(x)) == x for every request message in every version. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ALL_PROTOCOL_VERSIONS, decodeMessage, encodeMessage, versionName } from '../../../src/protocol';
import { requestArbitraries } from '../../support/protocol-arbitraries';

describe('request messages: round trips', () => {
  for (const v of ALL_PROTOCOL_VERSIONS) {
    describe(versionName(v), () => {
      for (const [name, arb] of Object.entries(requestArbitraries(v))) {
        it(`${name}: decode(encode(x)) == x and encode is stable`, () => {
          fc.assert(
            fc.property(arb, (msg) => {
              const bytes = Buffer.from(encodeMessage(msg, v));
              const decoded = decodeMessage(msg.opcode, false, bytes, v);
              assert.deepStrictEqual(decoded, msg);
              assert.deepStrictEqual(encodeMessage(decoded, v), bytes);
            }),
            { numRuns: 200 },
          );
        });
      }
    });
  }
});
