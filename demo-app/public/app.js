// The demo chat's page: plain JS, no build step. `io` comes from /chat/socket.io/socket.io.js.
/* global io */
'use strict';

const $ = (id) => document.getElementById(id);
const CUT_MS = 3000;
const TYPING_SEND_EVERY_MS = 2000;
const TYPING_IDLE_MS = 3000;
const TYPING_SHOWN_MS = 5000;
const DEFAULT_ROOMS = ['general'];
const STORAGE_KEY = 'chat.rooms';

/** Everything the page knows; rendering reads from here. */
const state = {
  me: null,
  socket: null,
  /** name -> { lines: [], pending: [], members: [], typing: Map(nick -> timer), unread: 0 } */
  joined: new Map(),
  list: [],
  current: null,
  online: 0,
  everConnected: false,
  cutting: false,
  statusDetail: '',
  /** Lines received since the last disconnect: before 'connect', those are the replayed ones. */
  sinceDisconnect: 0,
};

// ---------- helpers ----------

const el = (tag, className, text) => {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
};

const timeOf = (ts) => new Date(ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

const newCid = () => Math.random().toString(36).slice(2, 10) + Date.now().toString(36);

const savedRooms = () => {
  try {
    const rooms = JSON.parse(localStorage.getItem(STORAGE_KEY) || 'null');
    return Array.isArray(rooms) && rooms.length > 0 ? rooms.filter((r) => typeof r === 'string') : DEFAULT_ROOMS;
  } catch {
    return DEFAULT_ROOMS;
  }
};
const saveRooms = () => localStorage.setItem(STORAGE_KEY, JSON.stringify([...state.joined.keys()]));

function toast(text) {
  const node = el('p', 'toast', text);
  $('toasts').append(node);
  setTimeout(() => node.remove(), 4000);
}

// ---------- connection state ----------

const STATE_TEXT = {
  connecting: 'Connecting…',
  connected: 'Connected',
  offline: 'Offline · reconnecting…',
  recovered: 'Recovered',
  resynced: 'Reconnected · new session',
  refused: 'Not signed in',
};

/** Shows a connection state; connected states also name the transport (it changes on upgrade). */
function setStatus(name, detail) {
  const status = $('status');
  status.dataset.state = name;
  state.statusDetail = detail || '';
  const transport = name === 'connected' || name === 'recovered' || name === 'resynced' ? transportName() : '';
  $('status-text').textContent = [STATE_TEXT[name], state.statusDetail, transport && `(${transport})`].filter(Boolean).join(' ');
  $('cut').disabled = name === 'offline' || name === 'connecting' || state.cutting;
}

function transportName() {
  const engine = state.socket && state.socket.io.engine;
  return engine && engine.transport ? engine.transport.name : '';
}

// ---------- rendering ----------

function roomState(name) {
  let room = state.joined.get(name);
  if (!room) {
    room = { lines: [], pending: [], members: [], typing: new Map(), unread: 0 };
    state.joined.set(name, room);
  }
  return room;
}

function renderRoomList() {
  const list = $('room-list');
  list.replaceChildren();
  const names = new Set(state.list.map((r) => r.name));
  const rows = [...state.list];
  for (const name of state.joined.keys()) if (!names.has(name)) rows.push({ name, count: 0 });
  for (const { name, count } of rows) {
    const joined = state.joined.has(name);
    const li = el('li');
    const button = el('button', 'room' + (joined ? ' joined' : ''));
    button.type = 'button';
    button.dataset.room = name;
    if (name === state.current) button.setAttribute('aria-current', 'true');
    button.append(el('span', 'room-name', `#${name}`));
    const unread = joined ? state.joined.get(name).unread : 0;
    if (unread > 0) button.append(el('span', 'badge', String(unread)));
    const people = el('span', 'count', String(count));
    people.title = `${count} ${count === 1 ? 'person' : 'people'} here`;
    button.append(people);
    button.setAttribute('aria-label', `#${name}, ${count} ${count === 1 ? 'person' : 'people'}${joined ? '' : ', not joined'}${unread ? `, ${unread} unread` : ''}`);
    button.addEventListener('click', () => (joined ? showRoom(name) : joinRoom(name, true)));
    li.append(button);
    list.append(li);
  }
}

function lineNode(line, pending) {
  if (line.kind === 'system') {
    const li = el('li', 'line system');
    li.dataset.seq = String(line.seq);
    li.append(el('span', 'text', line.text));
    const time = el('time', 'time', timeOf(line.ts));
    time.dateTime = new Date(line.ts).toISOString();
    li.append(time);
    return li;
  }
  const mine = line.from === state.me;
  const li = el('li', 'line msg' + (mine ? ' mine' : '') + (pending ? ` ${pending}` : ''));
  if (line.seq) li.dataset.seq = String(line.seq);
  const head = el('div', 'meta');
  head.append(el('span', 'from', line.from));
  if (pending === 'pending') head.append(el('span', 'time', 'sending…'));
  else if (pending === 'failed') head.append(el('span', 'time', 'not sent · will retry'));
  else {
    const time = el('time', 'time', timeOf(line.ts));
    time.dateTime = new Date(line.ts).toISOString();
    head.append(time);
  }
  li.append(head, el('p', 'text', line.text));
  return li;
}

function renderMessages() {
  const room = state.joined.get(state.current);
  const list = $('messages');
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.replaceChildren();
  if (!room) return;
  if (room.lines.length === 0 && room.pending.length === 0) {
    list.append(el('li', 'line empty', 'No messages yet. Say hello!'));
  }
  for (const line of room.lines) list.append(lineNode(line));
  for (const p of room.pending) list.append(lineNode(p.line, p.failed ? 'failed' : 'pending'));
  if (atBottom || room.pending.length > 0) list.scrollTop = list.scrollHeight;
}

function renderMembers() {
  const room = state.joined.get(state.current);
  const list = $('members');
  list.replaceChildren();
  $('people-title').textContent = state.current ? `In #${state.current}` : 'Here';
  if (!room) return;
  $('room-count').textContent = `${room.members.length} ${room.members.length === 1 ? 'person' : 'people'}`;
  for (const member of room.members) {
    const li = el('li', 'member' + (member.away ? ' away' : ''));
    li.append(el('span', 'presence-dot'));
    li.append(el('span', 'member-name', member.nick));
    if (member.nick === state.me) li.append(el('span', 'muted', '(you)'));
    if (member.away) li.append(el('span', 'tag', 'reconnecting'));
    if (member.nick !== state.me) {
      const wave = el('button', 'button button-tiny', 'Wave');
      wave.type = 'button';
      wave.setAttribute('aria-label', `Wave at ${member.nick}`);
      wave.addEventListener('click', () => {
        // the classic API: socket.send() reaches io.on('message') on the server
        state.socket.send({ wave: member.id });
        toast(`You waved at ${member.nick}`);
      });
      li.append(wave);
    }
    list.append(li);
  }
}

function renderTyping() {
  const room = state.joined.get(state.current);
  const nicks = room ? [...room.typing.keys()] : [];
  const text =
    nicks.length === 0 ? '' :
    nicks.length === 1 ? `${nicks[0]} is typing…` :
    nicks.length === 2 ? `${nicks[0]} and ${nicks[1]} are typing…` :
    'Several people are typing…';
  $('typing').textContent = text;
}

function renderRoomHead() {
  const name = state.current;
  $('room-title').textContent = name ? `#${name}` : 'No room';
  $('message-label').textContent = name ? `Message #${name}` : 'Message';
  $('message').placeholder = name ? `Message #${name}` : 'Join a room to chat';
  $('message').disabled = !name;
  $('leave').disabled = !name;
  if (!name) $('room-count').textContent = '';
}

function renderAll() {
  renderRoomHead();
  renderRoomList();
  renderMessages();
  renderMembers();
  renderTyping();
}

function showRoom(name) {
  state.current = name;
  const room = state.joined.get(name);
  if (room) room.unread = 0;
  renderAll();
  $('message').focus();
}

// ---------- lines ----------

/** Inserts a line in seq order, once (a line already there is skipped). */
function addLine(line) {
  const room = state.joined.get(line.room);
  if (!room) return false;
  if (room.lines.some((l) => l.seq === line.seq)) return false;
  let i = room.lines.length;
  while (i > 0 && room.lines[i - 1].seq > line.seq) i--;
  room.lines.splice(i, 0, line);
  if (room.lines.length > 200) room.lines.shift();
  return true;
}

function onLine(line) {
  state.sinceDisconnect++;
  if (!addLine(line)) return;
  const room = state.joined.get(line.room);
  if (line.kind === 'chat') stopTyping(room, line.from);
  if (line.room === state.current) {
    renderMessages();
    renderTyping();
  } else {
    room.unread++;
    renderRoomList();
  }
}

// ---------- actions ----------

function joinRoom(name, show) {
  return new Promise((resolve) => {
    state.socket.timeout(10000).emit('join', name, (err, answer) => {
      if (err || !answer || answer.error) {
        const message = answer && answer.error ? answer.error : 'Could not join, try again.';
        $('room-error').textContent = message;
        resolve(false);
        return;
      }
      $('room-error').textContent = '';
      const room = roomState(answer.room);
      room.lines = [];
      for (const line of answer.history) addLine(line);
      room.members = answer.members;
      saveRooms();
      if (show || !state.current || !state.joined.has(state.current)) showRoom(answer.room);
      else renderRoomList();
      resolve(true);
    });
  });
}

function leaveRoom() {
  const name = state.current;
  if (!name) return;
  state.socket.emit('leave', name, () => {});
  state.joined.delete(name);
  saveRooms();
  const next = state.joined.keys().next();
  state.current = next.done ? null : next.value;
  renderAll();
}

function send(text) {
  const room = state.joined.get(state.current);
  if (!room) return;
  const pending = { cid: newCid(), failed: false, line: { kind: 'chat', room: state.current, from: state.me, text, ts: Date.now() } };
  room.pending.push(pending);
  renderMessages();
  trySend(room, pending);
}

/** Sends (or resends, with the same cid: the server stores it once) and waits for the server's ack. */
function trySend(room, pending) {
  pending.failed = false;
  const { room: name, text } = pending.line;
  state.socket.timeout(10000).emit('say', { room: name, text, cid: pending.cid }, (err, answer) => {
    if (err) {
      // no answer: the link dropped after the message left (sent again once we are back), or the
      // server is slow (sent again shortly); the cid makes the server store it once either way
      pending.failed = true;
      if (state.socket.connected) setTimeout(() => pending.failed && trySend(room, pending), 2000);
    } else {
      const i = room.pending.indexOf(pending);
      if (i === -1) return; // answered already (a retry crossed the first answer)
      room.pending.splice(i, 1);
      if (answer.line) addLine(answer.line);
      else toast(answer.error || 'Message refused');
    }
    if (name === state.current) renderMessages();
  });
}

function retryFailed() {
  for (const room of state.joined.values()) {
    for (const pending of room.pending) if (pending.failed) trySend(room, pending);
  }
}

// typing: one "typing" now and then while keys are pressed, one "stopped" when idle or sent
let typingRoom = null;
let typingSentAt = 0;
let typingIdle = null;

function noteTyping() {
  if (!state.current || !state.socket.connected) return;
  const now = Date.now();
  if (typingRoom !== state.current || now - typingSentAt > TYPING_SEND_EVERY_MS) {
    if (typingRoom && typingRoom !== state.current) state.socket.emit('typing', { room: typingRoom, typing: false });
    typingRoom = state.current;
    typingSentAt = now;
    state.socket.emit('typing', { room: typingRoom, typing: true });
  }
  clearTimeout(typingIdle);
  typingIdle = setTimeout(stoppedTyping, TYPING_IDLE_MS);
}

function stoppedTyping() {
  clearTimeout(typingIdle);
  if (typingRoom && state.socket.connected) state.socket.emit('typing', { room: typingRoom, typing: false });
  typingRoom = null;
  typingSentAt = 0;
}

function stopTyping(room, nick) {
  clearTimeout(room.typing.get(nick));
  room.typing.delete(nick);
}

function onTyping({ room: name, nick, typing }) {
  const room = state.joined.get(name);
  if (!room || nick === state.me) return;
  stopTyping(room, nick);
  if (typing) {
    room.typing.set(nick, setTimeout(() => {
      room.typing.delete(nick);
      if (name === state.current) renderTyping();
    }, TYPING_SHOWN_MS));
  }
  if (name === state.current) renderTyping();
}

/**
 * Drops the transport the way a flaky network would: the engine closes, the Manager reconnects after
 * CUT_MS, and the server recognises the session (socket.recovered) and replays what was missed.
 */
function cutConnection() {
  const manager = state.socket.io;
  state.cutting = true;
  manager.reconnectionDelay(CUT_MS).reconnectionDelayMax(CUT_MS).randomizationFactor(0);
  manager.engine.close();
}

function restoreReconnectionDelays() {
  if (!state.cutting) return;
  state.cutting = false;
  state.socket.io.reconnectionDelay(1000).reconnectionDelayMax(5000).randomizationFactor(0.5);
}

// ---------- the socket ----------

function connect() {
  // a bare io(): the served script knows it lives under /chat, so it connects to /chat/socket.io/
  const socket = io();
  state.socket = socket;
  setStatus('connecting');

  socket.on('connect', () => {
    restoreReconnectionDelays();
    if (socket.recovered) {
      // same socket id, same rooms; every event sent meanwhile has just been replayed (before 'connect')
      const missed = state.sinceDisconnect;
      const what = `${missed} missed ${missed === 1 ? 'message' : 'messages'} delivered`;
      setStatus('recovered', `· ${what}`);
      toast(`Session recovered: ${what}, nothing lost`);
    } else {
      setStatus(state.everConnected ? 'resynced' : 'connected');
      const rooms = state.everConnected ? [...state.joined.keys()] : savedRooms();
      if (!state.everConnected) state.current = null;
      state.everConnected = true;
      for (const name of rooms) joinRoom(name, false);
    }
    retryFailed();
    socket.io.engine.once('upgrade', () => setStatus($('status').dataset.state, state.statusDetail));
  });

  socket.on('disconnect', (reason) => {
    state.sinceDisconnect = 0;
    setStatus('offline');
    for (const room of state.joined.values()) for (const timer of room.typing.values()) clearTimeout(timer);
    for (const room of state.joined.values()) room.typing.clear();
    renderTyping();
    if (reason === 'io server disconnect') socket.connect();
  });

  socket.on('connect_error', (err) => {
    if (err.message === 'choose a nickname first') {
      setStatus('refused');
      showLogin(false);
    } else {
      setStatus('offline');
    }
  });

  socket.io.on('reconnect_attempt', (attempt) => setStatus('offline', `(attempt ${attempt})`));

  // Events carry one extra trailing argument (the recovery offset); the handlers read only what they need.
  socket.on('line', (line) => onLine(line));
  socket.on('typing', (typing) => onTyping(typing));
  socket.on('rooms', (list) => {
    state.list = list;
    renderRoomList();
  });
  socket.on('presence', ({ room: name, members }) => {
    const room = state.joined.get(name);
    if (!room) return;
    room.members = members;
    if (name === state.current) renderMembers();
  });

  // The classic API: conn.send / io.broadcast / io.broadcastExcept arrive as 'message'.
  socket.on('message', (data) => {
    if (!data || typeof data !== 'object') return;
    if (typeof data.online === 'number') {
      state.online = data.online;
      $('online').textContent = `${data.online} online`;
    }
    if (data.kind === 'welcome') {
      state.list = data.rooms;
      renderRoomList();
    } else if (data.kind === 'online') toast(`${data.nick} came online`);
    else if (data.kind === 'offline') toast(`${data.nick} went offline`);
    else if (data.kind === 'wave') toast(`${data.from} waves at you`);
  });
}

// ---------- nickname ----------

function showLogin(cancellable) {
  $('login').hidden = false;
  $('chat').hidden = true;
  $('login-cancel').hidden = !cancellable;
  $('nickname').value = state.me || '';
  $('nickname').focus();
}

function showChat() {
  $('login').hidden = true;
  $('chat').hidden = false;
  document.querySelector('.connection').hidden = false;
  document.querySelector('.me').hidden = false;
  $('me').textContent = state.me;
}

async function submitNickname(event) {
  event.preventDefault();
  const nickname = $('nickname').value.trim();
  if (!nickname) {
    $('login-error').textContent = 'Please enter a nickname.';
    return;
  }
  const res = await fetch('/api/nickname', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ nickname }),
  });
  const answer = await res.json();
  if (!res.ok) {
    $('login-error').textContent = answer.error || 'That did not work.';
    return;
  }
  $('login-error').textContent = '';
  const renaming = state.socket !== null && state.me !== null;
  state.me = answer.nickname;
  showChat();
  if (!renaming) {
    connect();
  } else if (state.socket.connected) {
    state.socket.emit('rename', () => renderAll());
  } else {
    state.socket.connect();
  }
  renderAll();
  $('message').focus();
}

// ---------- start ----------

function wire() {
  $('login-form').addEventListener('submit', (e) => {
    submitNickname(e).catch(() => {
      $('login-error').textContent = 'The server did not answer.';
    });
  });
  $('login-cancel').addEventListener('click', () => {
    showChat();
    $('message').focus();
  });
  $('rename').addEventListener('click', () => showLogin(true));
  $('cut').addEventListener('click', cutConnection);
  $('leave').addEventListener('click', leaveRoom);
  $('new-room').addEventListener('submit', (e) => {
    e.preventDefault();
    const name = $('room-name').value;
    if (!name.trim()) return;
    joinRoom(name, true).then((ok) => {
      if (ok) $('room-name').value = '';
    });
  });
  $('composer').addEventListener('submit', (e) => {
    e.preventDefault();
    const text = $('message').value.trim();
    if (!text || !state.current) return;
    $('message').value = '';
    stoppedTyping();
    send(text);
  });
  $('message').addEventListener('input', noteTyping);
  $('message').addEventListener('blur', () => {
    if (typingRoom) stoppedTyping();
  });
}

async function start() {
  wire();
  let nickname = null;
  try {
    const res = await fetch('/api/me');
    nickname = (await res.json()).nickname;
  } catch {
    // the server is down: ask for a nickname; submitting says so
  }
  if (!nickname) {
    showLogin(false);
    return;
  }
  state.me = nickname;
  showChat();
  renderAll();
  connect();
}

start();
