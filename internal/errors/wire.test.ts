/** Errors cross the shard IPC as a code and come back as the class that was thrown. */
import t from 'tap';
import { CodecNotAcceptableError, GatewayTimeoutError, OverloadedError, WhepdError, errorFromWire, errorToWire, isWhepdError } from './index.js';

t.test('errorFromWire(errorToWire()) gives back the same class, status, message and Retry-After', async (t) => {
  for (const err of [new CodecNotAcceptableError('offer has no H264 video m-line'), new GatewayTimeoutError('ICE gathering timed out'), new OverloadedError('VIEWERS_FULL', 'stream is full')]) {
    const back = errorFromWire(JSON.parse(JSON.stringify(errorToWire(err))));
    t.equal(back.constructor, err.constructor, `${err.constructor.name} keeps its class`);
    t.equal((back as WhepdError).status, err.status);
    t.equal((back as WhepdError).code, err.code);
    t.equal(back.message, err.message);
    t.equal((back as WhepdError).retryAfter, err.retryAfter);
  }
});

t.test('errorFromWire() turns an unexpected failure into a plain Error the edge answers as a bare 500', async (t) => {
  const back = errorFromWire(errorToWire(new TypeError('cannot read properties of undefined')));
  t.notOk(isWhepdError(back), 'not a typed error: its text is logged, not sent');
  t.match(back.message, /shard process: cannot read/);
});
