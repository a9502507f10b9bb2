// Session ids (nanoid, 126 random bits) and the shape check for ids a client sends back.
import { nanoid } from 'nanoid';

/** Length of generated ids: 21 nanoid characters carry 126 random bits. */
export const ID_LENGTH = 21;

/** A fresh unguessable id from the URL-safe alphabet. */
export function generateId(): string {
  return nanoid(ID_LENGTH);
}

const ID_SHAPE = /^[A-Za-z0-9_-]{1,64}$/;

/** Whether a client-supplied id could be one of ours; anything else is refused before any lookup. */
export function isValidIdShape(id: unknown): id is string {
  return typeof id === 'string' && ID_SHAPE.test(id);
}
