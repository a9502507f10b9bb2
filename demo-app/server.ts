// `npm start`: the demo chat on http://127.0.0.1:$PORT/ (default 3000).
import { createDemoApp } from './app';

const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? '127.0.0.1';
const { app, close } = createDemoApp();

const server = app.listen(port, host, () => {
  console.log(`demo chat on http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}/ (open it in two windows)`);
});

const stop = (): void => {
  void close().finally(() => server.close(() => process.exit(0)));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
