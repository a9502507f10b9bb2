// JSONP polling: only what differs from polling.ts — the callback wrapper out, the `d=` form body in.
import { PollingTransport, type PollingOptions } from './polling';

/** JSONP long-polling, chosen by a `j` query parameter on the handshake (PROTOCOL.md §1.10). */
export class JsonpTransport extends PollingTransport {
  /** `___eio[<digits of j>](`: non-digits are stripped so the callback cannot be injected. */
  private readonly head: string;

  constructor(opts: PollingOptions, j: string) {
    super(opts);
    this.head = `___eio[${j.replace(/[^0-9]/g, '')}](`;
  }

  protected override formatPayload(payload: string): string {
    // a JSON string literal, with the two line terminators JavaScript source does not allow escaped
    const literal = JSON.stringify(payload).replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
    return `${this.head}${literal});`;
  }

  protected override bodyFromParser(parsed: unknown): string | undefined {
    // express.urlencoded() leaves { d: '...' }: put the form back together
    if (parsed && typeof parsed === 'object' && typeof (parsed as { d?: unknown }).d === 'string') {
      return `d=${encodeURIComponent((parsed as { d: string }).d)}`;
    }
    return super.bodyFromParser(parsed);
  }

  protected override onBody(body: string): void {
    const fields = new URLSearchParams(body).getAll('d');
    // a body without exactly one `d` is ignored, as by the official server (querystring gives it no string)
    if (fields.length !== 1) return;
    const data = fields[0];
    // old JSONP clients escape newlines: a lone `\n` stands for LF, `\\n` for a literal backslash-n
    super.onBody(data.replace(/(\\)?\\n/g, (_match: string, slash: string | undefined) => (slash ? '\\n' : '\n')));
  }
}

