import { test } from 'node:test';
import assert from 'node:assert/strict';
import diagnostics_channel from 'node:diagnostics_channel';
import {
  CHANNELS,
  requestEnd,
  publishRequestEnd,
  publishConnectionOpen,
  type RequestEndMessage,
} from '../../../src/observability/events';

test('channel names are the documented zdm:* names', () => {
  assert.equal(CHANNELS.requestStart, 'zdm:request:start');
  assert.equal(CHANNELS.requestEnd, 'zdm:request:end');
  assert.equal(CHANNELS.requestTimeout, 'zdm:request:timeout');
  assert.equal(CHANNELS.connectionOpen, 'zdm:connection:open');
});

test('published messages reach subscribers; nothing published without subscribers', () => {
  const got: unknown[] = [];
  const msg: RequestEndMessage = { connectionId: 1, streamId: 5, opcode: 7, to: 'both', tracked: true, startMs: 0, seconds: 0.01 };
  assert.equal(requestEnd.hasSubscribers, false);
  publishRequestEnd(msg); // no subscriber: no effect, no throw
  const onMsg = (m: unknown) => got.push(m);
  diagnostics_channel.subscribe(CHANNELS.requestEnd, onMsg);
  try {
    assert.equal(requestEnd.hasSubscribers, true);
    publishRequestEnd(msg);
    publishConnectionOpen({ cluster: 'ORIGIN', node: 'a:1' }); // other channel: not received here
  } finally {
    diagnostics_channel.unsubscribe(CHANNELS.requestEnd, onMsg);
  }
  assert.deepEqual(got, [msg]);
  assert.equal(requestEnd.hasSubscribers, false);
});
