// The demo chat: an Express app with express-socket.io under /chat, next to ordinary routes and static files.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import express from 'express';
import session from 'express-session';
import helmet from 'helmet';
import pino from 'pino';
import { pinoHttp } from 'pino-http';
import { socketio, type DefaultEventsMap, type ServerOptions, type Socket, type SocketIoServer } from '../lib/index';

declare module 'express-session' {
  interface SessionData {
    nickname: string;
  }
}

/** What the server keeps on each socket (`socket.data`). */
export interface ChatData {
  nick: string;
  /** Rooms this socket joined through the chat (socket.rooms also holds its own id). */
  rooms: Set<string>;
}

type ChatSocket = Socket<DefaultEventsMap, DefaultEventsMap, DefaultEventsMap, ChatData>;
export type ChatServer = SocketIoServer<DefaultEventsMap, DefaultEventsMap, DefaultEventsMap, ChatData>;

/** One line of a room: a chat message or a system line (joins, leaves, renames). */
export interface ChatLine {
  kind: 'chat' | 'system';
  room: string;
  /** Position in the room, from 1: clients order lines by it. */
  seq: number;
  ts: number;
  from?: string;
  text: string;
  /** The sender's id for the message, so a retried send is stored once. */
  cid?: string;
}

interface Room {
  name: string;
  permanent: boolean;
  seq: number;
  history: ChatLine[];
  /** socket id -> socket, for presence. */
  members: Map<string, ChatSocket>;
}

export interface DemoOptions {
  /** pino level for the demo's request log and the io server. @default 'info' */
  logLevel?: string;
  /** Extra options for socketio() (tests shorten pingInterval, for instance). */
  io?: ServerOptions;
}

export interface DemoApp {
  app: express.Express;
  io: ChatServer;
  /** Closes every Socket.IO session (the HTTP server is the caller's). */
  close(): Promise<void>;
}

const PERMANENT_ROOMS = ['general', 'random'];
const HISTORY = 100;
const MAX_ROOMS = 200;
const MAX_TEXT = 1000;
const NICKNAME = /^[^\s\p{C}][^\p{C}]{0,22}[^\s\p{C}]$|^[^\s\p{C}]$/u;
const ROOM_NAME = /^[a-z0-9][a-z0-9-]{0,23}$/;
const CID = /^[A-Za-z0-9_-]{1,40}$/;

/** Trims and checks a nickname: 1-24 visible characters, no control characters. */
export function cleanNickname(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const nick = value.trim().replace(/\s+/g, ' ');
  return NICKNAME.test(nick) ? nick : undefined;
}

/** `My Room!` -> `my-room`; undefined when nothing usable is left. */
export function cleanRoomName(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const name = value
    .trim()
    .toLowerCase()
    .replace(/^#/, '')
    .replace(/[\s_]+/g, '-')
    .replace(/[^a-z0-9-]/g, '')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '');
  return ROOM_NAME.test(name) ? name : undefined;
}

type SessionRequest = IncomingMessage & Pick<express.Request, 'session' | 'sessionID'>;
const sessionOf = (socket: ChatSocket): SessionRequest => socket.request as SessionRequest;
type Ack = (answer: Record<string, unknown>) => void;
const isAck = (fn: unknown): fn is Ack => typeof fn === 'function';

/**
 * Builds the demo app. Middleware order matters: pino-http, helmet and express-session run before
 * express-socket.io, on polling requests and WebSocket upgrades alike, so a socket finds the nickname
 * in `socket.request.session`.
 */
export function createDemoApp(options: DemoOptions = {}): DemoApp {
  const logger = pino({ level: options.logLevel ?? 'info' });
  const app = express();
  const io: ChatServer = socketio<DefaultEventsMap, DefaultEventsMap, DefaultEventsMap, ChatData>({
    logger: logger.child({ module: 'socket.io' }),
    ...options.io,
  });

  app.use(
    pinoHttp({
      logger,
      // method, URL and status only: no headers, so no session cookie in the log
      serializers: {
        req: (req: { method?: string; url?: string }) => ({ method: req.method, url: req.url }),
        res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
      },
      // the long-polling requests would drown everything else; upgrades and page loads stay
      autoLogging: { ignore: (req) => (req.url ?? '').includes('transport=polling') },
    }),
  );
  app.use(
    helmet({
      contentSecurityPolicy: {
        directives: {
          // only our own files: the page, app.js, the served client bundle; 'self' covers ws(s): to
          // this host (CSP3), which is where the WebSocket goes
          'default-src': ["'self'"],
          'script-src': ["'self'"],
          'style-src': ["'self'"],
          'connect-src': ["'self'"],
          'img-src': ["'self'", 'data:'],
          // the demo runs on plain http://localhost: do not rewrite its requests to https
          'upgrade-insecure-requests': null,
        },
      },
      // plain http: no HSTS for 127.0.0.1
      strictTransportSecurity: false,
    }),
  );
  app.use(
    session({
      name: 'chat.sid',
      secret: process.env.SESSION_SECRET ?? randomBytes(32).toString('hex'),
      resave: false,
      saveUninitialized: false,
      cookie: { httpOnly: true, sameSite: 'lax' },
    }),
  );

  app.get('/health', (_req, res) => {
    res.json({ ok: true, connections: io.engine.clientsCount });
  });
  app.get('/api/me', (req, res) => {
    res.json({ nickname: req.session.nickname ?? null });
  });
  app.post('/api/nickname', express.json({ limit: '1kb' }), (req, res) => {
    const nickname = cleanNickname((req.body as { nickname?: unknown } | undefined)?.nickname);
    if (!nickname) {
      res.status(400).json({ error: 'A nickname is 1 to 24 characters.' });
      return;
    }
    req.session.nickname = nickname;
    res.json({ nickname });
  });
  app.use('/chat', io);
  app.use(express.static(join(__dirname, 'public')));

  attachChat(io);
  return { app, io, close: () => io.close() };
}

/** The chat itself: rooms, presence, typing, messages, and the classic API for who is online. */
function attachChat(io: ChatServer): void {
  const rooms = new Map<string, Room>();
  const recentSends = new Map<string, ChatLine>();
  /** nickname -> how many sessions it has open, for "came online" / "went offline". */
  const online = new Map<string, number>();

  const roomOf = (name: string): Room => {
    let room = rooms.get(name);
    if (!room) {
      room = { name, permanent: PERMANENT_ROOMS.includes(name), seq: 0, history: [], members: new Map() };
      rooms.set(name, room);
    }
    return room;
  };
  for (const name of PERMANENT_ROOMS) roomOf(name);

  const nicksIn = (room: Room): Set<string> => new Set([...room.members.values()].map((s) => s.data.nick));
  const roomList = (): Array<{ name: string; count: number; permanent: boolean }> =>
    [...rooms.values()]
      .map((r) => ({ name: r.name, count: nicksIn(r).size, permanent: r.permanent }))
      .sort((a, b) => Number(b.permanent) - Number(a.permanent) || a.name.localeCompare(b.name));

  /** One entry per nickname: away only when every socket of that nickname lost its transport. */
  const presenceOf = (room: Room): Array<{ nick: string; away: boolean; id: string }> => {
    const byNick = new Map<string, { nick: string; away: boolean; id: string }>();
    for (const s of room.members.values()) {
      const seen = byNick.get(s.data.nick);
      if (!seen) byNick.set(s.data.nick, { nick: s.data.nick, away: s.interrupted, id: s.id });
      else if (seen.away && !s.interrupted) byNick.set(s.data.nick, { nick: s.data.nick, away: false, id: s.id });
    }
    return [...byNick.values()].sort((a, b) => a.nick.localeCompare(b.nick));
  };

  const publishRooms = (): void => {
    io.emit('rooms', roomList());
  };
  const publishPresence = (room: Room): void => {
    io.to(room.name).emit('presence', { room: room.name, members: presenceOf(room) });
  };

  const addLine = (room: Room, line: Omit<ChatLine, 'seq' | 'ts' | 'room'>): ChatLine => {
    const full: ChatLine = { ...line, room: room.name, seq: ++room.seq, ts: Date.now() };
    room.history.push(full);
    if (room.history.length > HISTORY) room.history.shift();
    return full;
  };
  const systemLine = (room: Room, text: string, except?: ChatSocket): void => {
    const line = addLine(room, { kind: 'system', text });
    (except ? except.to(room.name) : io.to(room.name)).emit('line', line);
  };

  /** `gone`: the session ended, the adapter already forgot the socket's rooms. */
  const leaveRoom = (socket: ChatSocket, room: Room, gone = false): void => {
    if (!gone) socket.leave(room.name);
    socket.data.rooms.delete(room.name);
    room.members.delete(socket.id);
    if (!nicksIn(room).has(socket.data.nick)) systemLine(room, `${socket.data.nick} left`);
    if (room.members.size === 0 && !room.permanent) rooms.delete(room.name);
    else publishPresence(room);
    publishRooms();
  };

  // Only sockets whose session has a nickname get in: express-session ran on this very request.
  io.use((socket, next) => {
    const nick = cleanNickname(sessionOf(socket).session?.nickname);
    if (!nick) {
      next(new Error('choose a nickname first'));
      return;
    }
    socket.data.nick = nick;
    socket.data.rooms = new Set();
    next();
  });

  // The classic API: who comes and goes, announced to everyone; `message` carries waves.
  io.on('connect', (conn: ChatSocket) => {
    const count = (online.get(conn.data.nick) ?? 0) + 1;
    online.set(conn.data.nick, count);
    conn.send({ kind: 'welcome', nick: conn.data.nick, online: online.size, rooms: roomList() });
    if (count === 1) io.broadcastExcept(conn, { kind: 'online', nick: conn.data.nick, online: online.size });
  });
  io.on('message', (conn: ChatSocket, data: unknown) => {
    const wave = (data as { wave?: unknown } | null)?.wave;
    if (typeof wave !== 'string') return;
    const target = io.getConn(wave);
    if (target && target.id !== conn.id) target.send({ kind: 'wave', from: conn.data.nick });
  });
  io.on('disconnect', (conn: ChatSocket) => {
    const count = (online.get(conn.data.nick) ?? 1) - 1;
    if (count > 0) {
      online.set(conn.data.nick, count);
      return;
    }
    online.delete(conn.data.nick);
    io.broadcast({ kind: 'offline', nick: conn.data.nick, online: online.size });
  });

  // Named events with acks: rooms, messages, typing, renames.
  io.on('connection', (socket: ChatSocket) => {
    socket.on('join', (name: unknown, ack: unknown) => {
      if (!isAck(ack)) return;
      const roomName = cleanRoomName(name);
      if (!roomName) {
        ack({ error: 'Room names are 1 to 24 letters, digits or dashes.' });
        return;
      }
      if (!rooms.has(roomName) && rooms.size >= MAX_ROOMS) {
        ack({ error: 'There are too many rooms already: join one of them.' });
        return;
      }
      const room = roomOf(roomName);
      if (!room.members.has(socket.id)) {
        const isNew = !nicksIn(room).has(socket.data.nick);
        socket.join(roomName);
        socket.data.rooms.add(roomName);
        room.members.set(socket.id, socket);
        if (isNew) systemLine(room, `${socket.data.nick} joined`, socket);
        publishPresence(room);
        publishRooms();
      }
      ack({ room: roomName, history: room.history, members: presenceOf(room) });
    });

    socket.on('leave', (name: unknown, ack: unknown) => {
      const room = typeof name === 'string' ? rooms.get(name) : undefined;
      if (room && room.members.has(socket.id)) leaveRoom(socket, room);
      if (isAck(ack)) ack({ room: name });
    });

    socket.on('say', (payload: unknown, ack: unknown) => {
      if (!isAck(ack)) return;
      const { room: name, text, cid } = (payload ?? {}) as { room?: unknown; text?: unknown; cid?: unknown };
      const room = typeof name === 'string' ? rooms.get(name) : undefined;
      if (!room || !room.members.has(socket.id)) {
        ack({ error: 'Join the room first.' });
        return;
      }
      const body = typeof text === 'string' ? text.trim() : '';
      if (body.length === 0 || body.length > MAX_TEXT || typeof cid !== 'string' || !CID.test(cid)) {
        ack({ error: `A message is 1 to ${MAX_TEXT} characters.` });
        return;
      }
      // a send retried after a lost ack is answered with the line already stored
      const key = `${sessionOf(socket).sessionID}:${cid}`;
      const stored = recentSends.get(key);
      if (stored) {
        ack({ line: stored });
        return;
      }
      const line = addLine(room, { kind: 'chat', from: socket.data.nick, text: body, cid });
      recentSends.set(key, line);
      if (recentSends.size > 2000) recentSends.delete(recentSends.keys().next().value as string);
      socket.to(room.name).emit('line', line);
      ack({ line });
    });

    socket.on('typing', (payload: unknown) => {
      const { room, typing } = (payload ?? {}) as { room?: unknown; typing?: unknown };
      if (typeof room !== 'string' || !socket.data.rooms.has(room)) return;
      // volatile: a typing hint that cannot be delivered now is worthless later
      socket.to(room).volatile.emit('typing', { room, nick: socket.data.nick, typing: typing === true });
    });

    socket.on('rename', (ack: unknown) => {
      if (!isAck(ack)) return;
      // POST /api/nickname changed the session in the store; read it again
      sessionOf(socket).session.reload((err) => {
        const nick = err ? undefined : cleanNickname(sessionOf(socket).session?.nickname);
        if (!nick) {
          ack({ error: 'No nickname in this session.' });
          return;
        }
        const old = socket.data.nick;
        if (nick !== old) {
          socket.data.nick = nick;
          const left = (online.get(old) ?? 1) - 1;
          if (left > 0) online.set(old, left);
          else online.delete(old);
          online.set(nick, (online.get(nick) ?? 0) + 1);
          for (const name of socket.data.rooms) {
            const room = rooms.get(name);
            if (!room) continue;
            systemLine(room, `${old} is now ${nick}`);
            publishPresence(room);
          }
        }
        ack({ nick });
      });
    });

    // Recovery: the session outlives a dropped transport; others see this person as "reconnecting".
    socket.on('interrupted', () => {
      for (const name of socket.data.rooms) {
        const room = rooms.get(name);
        if (room) publishPresence(room);
      }
    });
    socket.on('resumed', () => {
      for (const name of socket.data.rooms) {
        const room = rooms.get(name);
        if (room) publishPresence(room);
      }
    });

    socket.on('disconnect', () => {
      for (const name of [...socket.data.rooms]) {
        const room = rooms.get(name);
        if (room) leaveRoom(socket, room, true);
      }
    });
  });
}
