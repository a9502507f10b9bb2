// Session ids (nanoid, 120 random bits) and the shape check for ids a client sends back.
import { nanoid } from 'nanoid';

/**
 * Length of generated ids: 20 nanoid characters carry 120 random bits, as socket.io's base64id. The
 * ecosystem relies on that length: @socket.io/sticky routes polling requests by a 20-character `sid=`,
 * and the sharded Redis adapter tells a socket's own room from a public one by its length 20.
 */
export const ID_LENGTH = 20;

/** A fresh unguessable id from the URL-safe alphabet. */
export function generateId(): string {
  return nanoid(ID_LENGTH);
}

const ID_SHAPE = /^[A-Za-z0-9_-]{1,64}$/;

/** Whether a client-supplied id could be one of ours; anything else is refused before any lookup. */
export function isValidIdShape(id: unknown): id is string {
  return typeof id === 'string' && ID_SHAPE.test(id);
}
