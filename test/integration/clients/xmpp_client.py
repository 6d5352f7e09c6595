#!/usr/bin/python3
# Real XMPP clients (Python's slixmpp, Debian's python3-slixmpp) against POST nodes, for the lab tests
# of issue 17. Usage: xmpp_client.py SCENARIO CONFIG_JSON; prints one JSON document on stdout.
#   CONFIG_JSON: {"a": {"jid", "password", "host", "port"}, "b": {...}, "text": "..."}
# Scenarios:
#   converse  a and b online (each on its own node): a -> b, then b -> a
#   send      a sends config.texts to b (of config.type, chat by default) and logs out (b offline)
#   receive   b logs in, sends its initial presence and collects config.expect messages (offline delivery)
#   carbons   two resources of a with carbons on: a/one -> b is carbon-copied to a/two; b -> a reaches both
#   mam       a pages its archive of the conversation with b, config.page messages at a time
#   receipts  a sends b a message asking for a receipt (XEP-0184) and then a chat state (XEP-0085):
#             b's client acknowledges it (slixmpp's default), a gets the receipt with its id
#   presence  a asks b for a subscription; b's client approves and asks back (slixmpp's defaults), a
#             approves: both rosters say 'both' and each sees the other available
#   resume    a (stream management with resumption, XEP-0198) loses its TCP connection abruptly; b
#             sends a message while a's node holds the session (config.metrics: a's node's /metrics);
#             a reconnects, resumes and gets it, then one more live: each once
#   tls       a logs in over STARTTLS trusting only config.ca (the lab's CA) and pings its server; a
#             client with the system's trust store alone refuses the node's certificate
import asyncio
import json
import logging
import sys
import urllib.request

import slixmpp

TIMEOUT_S = 30


class Client(slixmpp.ClientXMPP):
    def __init__(self, account, resource):
        super().__init__(f"{account['jid']}/{resource}", account['password'],
                         plugin_config={'feature_mechanisms': {'unencrypted_plain': True}})
        self.account = account
        for plugin in ('xep_0030', 'xep_0199', 'xep_0280', 'xep_0313', 'xep_0059', 'xep_0203', 'xep_0085', 'xep_0198', 'xep_0184'):
            self.register_plugin(plugin)
        self.received = []
        self.carbons_sent = []
        self.carbons_received = []
        self.started = asyncio.get_event_loop().create_future()
        self.arrived = asyncio.Event()
        self.add_event_handler('session_start', self.on_start)
        self.add_event_handler('failed_all_auth', lambda _: self.fail('authentication failed'))
        self.add_event_handler('message', self.on_message)
        self.add_event_handler('carbon_sent', lambda m: self.carbons_sent.append(m['carbon_sent']['body']))
        self.add_event_handler('carbon_received', lambda m: self.carbons_received.append(m['carbon_received']['body']))
        self.receipts = []
        self.chat_states = []
        self.add_event_handler('receipt_received', lambda m: self.receipts.append(m['receipt']))
        self.add_event_handler('chatstate', lambda m: self.chat_states.append(m['chat_state']))

    def fail(self, why):
        if not self.started.done():
            self.started.set_exception(RuntimeError(why))

    async def on_start(self, _):
        await self.get_roster()
        self.send_presence()
        if not self.started.done():
            self.started.set_result(True)

    def on_message(self, msg):
        if msg['type'] in ('chat', 'normal', 'headline') and msg['body']:
            self.received.append({'from': str(msg['from'].bare), 'body': msg['body'], 'delayed': bool(msg.xml.find('{urn:xmpp:delay}delay') is not None)})
            self.arrived.set()

    async def online(self):
        self.connect(address=(self.account['host'], self.account['port']), force_starttls=False, disable_starttls=True)
        await asyncio.wait_for(self.started, TIMEOUT_S)
        return self

    async def wait_for(self, count):
        async def loop():
            while len(self.received) < count:
                self.arrived.clear()
                await self.arrived.wait()
        await asyncio.wait_for(loop(), TIMEOUT_S)

    def chat(self, to, text, mtype='chat'):
        self.send_message(mto=to, mbody=text, mtype=mtype)

    async def offline(self):
        self.disconnect()
        await asyncio.sleep(0.2)


async def converse(cfg):
    a = await Client(cfg['a'], 'laptop').online()
    b = await Client(cfg['b'], 'phone').online()
    a.chat(cfg['b']['jid'], 'hello b, from a')
    await b.wait_for(1)
    b.chat(cfg['a']['jid'], 'hello a, from b')
    await a.wait_for(1)
    await a.offline()
    await b.offline()
    return {'a_received': a.received, 'b_received': b.received}


async def send(cfg):
    a = await Client(cfg['a'], 'laptop').online()
    for text in cfg['texts']:
        a.chat(cfg['b']['jid'], text, cfg.get('type', 'chat'))
    # A ping's answer comes after the messages were handled (the server handles stanzas in order).
    await a['xep_0199'].ping(jid=cfg['a']['jid'].split('@')[1], timeout=TIMEOUT_S)
    await a.offline()
    return {'sent': cfg['texts']}


async def receive(cfg):
    b = await Client(cfg['b'], 'phone').online()
    await b.wait_for(cfg['expect'])
    await b.offline()
    return {'b_received': b.received}


async def carbons(cfg):
    one = await Client(cfg['a'], 'one').online()
    two = await Client(cfg['a'], 'two').online()
    for c in (one, two):
        await c['xep_0280'].enable()
    b = await Client(cfg['b'], 'phone').online()
    one.chat(cfg['b']['jid'], 'sent from one')
    await b.wait_for(1)

    async def carbon():
        while not two.carbons_sent:
            await asyncio.sleep(0.05)
    await asyncio.wait_for(carbon(), TIMEOUT_S)
    b.chat(cfg['a']['jid'], 'to both resources')
    await one.wait_for(1)
    await two.wait_for(1)
    for c in (one, two, b):
        await c.offline()
    return {'two_carbons_sent': two.carbons_sent, 'one_received': one.received, 'two_received': two.received, 'b_received': b.received}


async def mam(cfg):
    a = await Client(cfg['a'], 'archive').online()
    pages = []
    after = None
    while len(pages) < 20:
        rsm = {'max': cfg['page']}
        if after:
            rsm['after'] = after
        iq = await a['xep_0313'].retrieve(with_jid=slixmpp.JID(cfg['b']['jid']), rsm=rsm, timeout=TIMEOUT_S)
        results = iq['mam']['results']
        pages.append([r['mam_result']['forwarded']['stanza']['body'] for r in results])
        fin = iq['mam_fin']
        after = fin['rsm']['last']
        # slixmpp 1.8 does not read <fin complete='true'/>: look at the attribute itself.
        if fin.xml.get('complete') == 'true' or not results:
            break
    await a.offline()
    return {'pages': pages}


async def until(check):
    async def loop():
        while not check():
            await asyncio.sleep(0.05)
    await asyncio.wait_for(loop(), TIMEOUT_S)


async def receipts(cfg):
    a = await Client(cfg['a'], 'laptop').online()
    b = await Client(cfg['b'], 'phone').online()
    msg = a.make_message(mto=cfg['b']['jid'], mbody='please confirm', mtype='chat')
    msg['id'] = 'receipt-test-1'
    msg['request_receipt'] = True
    msg.send()
    await b.wait_for(1)
    await until(lambda: a.receipts)
    state = a.make_message(mto=cfg['b']['jid'], mtype='chat')
    state['chat_state'] = 'composing'
    state.send()
    await until(lambda: b.chat_states)
    await a.offline()
    await b.offline()
    return {'a_receipts': a.receipts, 'b_received_id_asked': b.received[0]['body'], 'b_chat_states': b.chat_states}


async def presence(cfg):
    a = await Client(cfg['a'], 'laptop').online()
    b = await Client(cfg['b'], 'phone').online()
    a.send_presence_subscription(pto=cfg['b']['jid'])

    def settled():
        ra, rb = a.client_roster, b.client_roster
        return (cfg['b']['jid'] in ra and ra[cfg['b']['jid']]['subscription'] == 'both'
                and cfg['a']['jid'] in rb and rb[cfg['a']['jid']]['subscription'] == 'both'
                and ra[cfg['b']['jid']].resources and rb[cfg['a']['jid']].resources)

    async def wait():
        while not settled():
            await asyncio.sleep(0.05)
    try:
        await asyncio.wait_for(wait(), TIMEOUT_S)
    finally:
        state = {
            'a_sees_b': {'subscription': a.client_roster[cfg['b']['jid']]['subscription'], 'online': bool(a.client_roster[cfg['b']['jid']].resources)},
            'b_sees_a': {'subscription': b.client_roster[cfg['a']['jid']]['subscription'], 'online': bool(b.client_roster[cfg['a']['jid']].resources)},
        }
        print(json.dumps(state), file=sys.stderr)
    await b.offline()

    async def gone():
        while a.client_roster[cfg['b']['jid']].resources:
            await asyncio.sleep(0.05)
    await asyncio.wait_for(gone(), TIMEOUT_S)
    await a.offline()
    return {**state, 'a_saw_b_leave': True}


def metric(url, name):
    with urllib.request.urlopen(url, timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + ' ') or line.startswith(name + '{'):
                return float(line.rsplit(' ', 1)[1])
    return 0.0


async def until_metric(url, name, at_least):
    async def loop():
        while metric(url, name) < at_least:
            await asyncio.sleep(0.1)
    await asyncio.wait_for(loop(), TIMEOUT_S)


async def resume(cfg):
    a = await Client(cfg['a'], 'phone').online()
    await until(lambda: a['xep_0198'].sm_id is not None)
    b = await Client(cfg['b'], 'desk').online()
    events = {'session_start': 0, 'session_resumed': 0}
    a.add_event_handler('session_start', lambda _: events.__setitem__('session_start', events['session_start'] + 1))
    a.add_event_handler('session_resumed', lambda _: events.__setitem__('session_resumed', events['session_resumed'] + 1))
    held_before = metric(cfg['metrics'], 'post_xmpp_sessions_held')
    a.transport.abort()  # no stream end: the connection is just gone, as when a phone changes networks
    await until_metric(cfg['metrics'], 'post_xmpp_sessions_held', held_before + 1)
    b.chat(cfg['a']['jid'], 'sent while a was away')
    # The message waits in the held session's queue before a comes back.
    await until_metric(cfg['metrics'], 'post_xmpp_sessions_held_stanzas', 1)
    a.connect(address=(cfg['a']['host'], cfg['a']['port']), force_starttls=False, disable_starttls=True)
    await until(lambda: events['session_resumed'] > 0)
    await a.wait_for(1)
    b.chat(cfg['a']['jid'], 'sent after a resumed')
    await a.wait_for(2)
    # A last round trip: anything a was sent before it (a second copy, say) has arrived by its answer.
    await a['xep_0199'].ping(jid=cfg['a']['jid'].split('@')[1], timeout=TIMEOUT_S)
    await a.offline()
    await b.offline()
    return {'a_received': a.received, 'events': events}


async def tls(cfg):
    a = Client(cfg['a'], 'secure')
    a.ca_certs = cfg['ca']
    certs = []
    a.add_event_handler('ssl_cert', certs.append)
    a.connect(address=(cfg['a']['host'], cfg['a']['port']), force_starttls=True)
    await asyncio.wait_for(a.started, TIMEOUT_S)
    await a['xep_0199'].ping(jid=cfg['a']['jid'].split('@')[1], timeout=TIMEOUT_S)
    await a.offline()
    untrusting = Client(cfg['a'], 'untrusting')
    refused = asyncio.get_event_loop().create_future()
    untrusting.add_event_handler('ssl_invalid_chain', lambda e: refused.done() or refused.set_result(str(e)))
    untrusting.connect(address=(cfg['a']['host'], cfg['a']['port']), force_starttls=True)
    reason = await asyncio.wait_for(refused, TIMEOUT_S)
    untrusting.abort()
    return {'secured': len(certs) == 1, 'untrusting_refused': reason}


SCENARIOS = {'converse': converse, 'send': send, 'receive': receive, 'carbons': carbons, 'mam': mam, 'presence': presence, 'receipts': receipts, 'resume': resume, 'tls': tls}

if __name__ == '__main__':
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    scenario, cfg = sys.argv[1], json.loads(sys.argv[2])
    try:
        result = asyncio.get_event_loop().run_until_complete(SCENARIOS[scenario](cfg))
        print(json.dumps({'ok': True, **result}))
    except Exception as e:  # the test prints it with the lab's logs
        print(json.dumps({'ok': False, 'error': f'{type(e).__name__}: {e}'}))
        sys.exit(1)
