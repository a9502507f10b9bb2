// Event maps shared by the type tests in spec/types (checked by `npm run typecheck`, never run).

/** Client → server: what socket.on() hears. */
export interface ClientToServer {
  noArgs: () => void;
  hello: (message: string) => void;
  ask: (question: string, attempt: number, ack: (answer: string, confidence: number) => void) => void;
}

/** Server → client: what socket.emit() and broadcasts send. */
export interface ServerToClient {
  noArgs: () => void;
  news: (headline: string, at: number) => void;
  double: (n: number, ack: (doubled: number) => void) => void;
  twoAnswers: (question: string, ack: (ok: boolean, detail: string) => void) => void;
  onlyCallback: (ack: () => void) => void;
}

/** Server ↔ server, through the adapter: serverSideEmit() and io.on() for these names. */
export interface InterServer {
  ping: () => void;
  sync: (state: string, version: number) => void;
  count: (room: string, ack: (sockets: number) => void) => void;
}

/** socket.data. */
export interface SocketData {
  user: string;
  level: number;
}
