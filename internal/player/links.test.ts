/** The player's Link parsing: ICE servers with TURN credentials, and the events extension. */
import t from 'tap';
import { iceServersOf, parseLinks } from './client/links.mjs';
import { findEventsLink } from './client/events.mjs';

const header = [
  '<stun:127.0.0.1:3478>; rel="ice-server"',
  '<turn:127.0.0.1:3478?transport=tcp>; rel="ice-server"; username="1700000000:abc"; credential="a+b/c=="; credential-type="password"',
  '</whep/demo/s1/events>; rel="urn:ietf:params:whep:ext:core:server-sent-events"; events="active,inactive,viewercount,reconnect"',
].join(', ');

t.test('iceServersOf() reads every rel="ice-server" Link, TURN credentials included', async (t) => {
  t.same(iceServersOf(header), [
    { urls: 'stun:127.0.0.1:3478' },
    { urls: 'turn:127.0.0.1:3478?transport=tcp', username: '1700000000:abc', credential: 'a+b/c==' },
  ]);
  t.same(iceServersOf(null), []);
});

t.test('parseLinks() unquotes values and findEventsLink() finds the extension among ICE servers', async (t) => {
  t.equal(parseLinks('<x>; rel="a\\"b"')[0]?.params.get('rel'), 'a"b');
  t.same(findEventsLink(header, 'http://127.0.0.1:8889/whep/demo'), { url: 'http://127.0.0.1:8889/whep/demo/s1/events', events: ['active', 'inactive', 'viewercount', 'reconnect'] });
  t.equal(findEventsLink('<stun:x>; rel="ice-server"', 'http://127.0.0.1/'), undefined);
});
