// Express 4 is installed under the npm alias `express4`; it has the same API surface the tests use.
declare module 'express4' {
  import express from 'express';
  export default express;
}
