// Type tests for lib/io/events.ts on its own: which events have an ack, and how timeout() and broadcasts
// reshape an ack. Checked by `npm run typecheck`; nothing here runs.
import { expectTypeOf } from 'expect-type';
import type {
  BroadcastTimeoutError,
  DecorateAcknowledgements,
  DecorateAcknowledgementsWithBroadcastTimeout,
  DecorateAcknowledgementsWithMultipleResponses,
  DecorateAcknowledgementsWithTimeoutAndMultipleResponses,
  DefaultEventsMap,
  EmitWithAckArgs,
  EmitWithAckResult,
  EventNamesWithAck,
  EventNamesWithError,
  EventNamesWithoutAck,
  RemoveAcknowledgements,
} from '../../lib/index';
import type { ServerToClient } from './maps';

interface Shapes {
  plain: (a: string) => void;
  ack: (a: string, ack: (value: number, extra: boolean) => void) => void;
  empty: (ack: () => void) => void;
  errorFirst: (ack: (err: Error, value: number) => void) => void;
  rest: (ack: (...values: string[]) => void) => void;
}

// --- which names have an ack ------------------------------------------------------------------------

expectTypeOf<EventNamesWithAck<Shapes>>().toEqualTypeOf<'ack' | 'empty' | 'errorFirst' | 'rest'>();
expectTypeOf<EventNamesWithoutAck<Shapes>>().toEqualTypeOf<'plain'>();
expectTypeOf<EventNamesWithError<Shapes>>().toEqualTypeOf<'errorFirst'>();
expectTypeOf<EventNamesWithError<DecorateAcknowledgements<Shapes>>>().toEqualTypeOf<'ack' | 'empty' | 'errorFirst' | 'rest'>();
expectTypeOf<keyof RemoveAcknowledgements<ServerToClient>>().toEqualTypeOf<'noArgs' | 'news'>();
expectTypeOf<EventNamesWithAck<DefaultEventsMap>>().toEqualTypeOf<string>();
expectTypeOf<EventNamesWithoutAck<DefaultEventsMap>>().toEqualTypeOf<string>();
expectTypeOf<RemoveAcknowledgements<DefaultEventsMap>>().toEqualTypeOf<DefaultEventsMap>();

// --- timeout(): the error first, (null, ...answer) on success ----------------------------------------

type Timed = DecorateAcknowledgements<Shapes>;
expectTypeOf<Parameters<Parameters<Timed['ack']>[1]>>().toEqualTypeOf<[Error | null, number, boolean]>();
expectTypeOf<Parameters<Parameters<Timed['empty']>[0]>>().toEqualTypeOf<[Error | null]>();
// an ack that already takes the error is left as it is
expectTypeOf<Timed['errorFirst']>().toEqualTypeOf<Shapes['errorFirst']>();
expectTypeOf<Timed['plain']>().toEqualTypeOf<Shapes['plain']>();
expectTypeOf<DecorateAcknowledgements<DefaultEventsMap>>().toEqualTypeOf<DefaultEventsMap>();

// --- broadcasts: each client's first answer, in one array -------------------------------------------

type Collected = DecorateAcknowledgementsWithMultipleResponses<Shapes>;
expectTypeOf<Parameters<Parameters<Collected['ack']>[1]>>().toEqualTypeOf<[number[]]>();
expectTypeOf<Parameters<Parameters<Collected['empty']>[0]>>().toEqualTypeOf<[undefined[]]>();
expectTypeOf<Parameters<Parameters<Collected['errorFirst']>[0]>>().toEqualTypeOf<[Error, number[]]>();
expectTypeOf<Parameters<Parameters<Collected['rest']>[0]>>().toEqualTypeOf<[string[]]>();
expectTypeOf<Collected['plain']>().toEqualTypeOf<Shapes['plain']>();

// serverSideEmit: one answer per server, the adapter's Error
type CollectedWithTimeout = DecorateAcknowledgementsWithTimeoutAndMultipleResponses<Shapes>;
expectTypeOf<Parameters<Parameters<CollectedWithTimeout['ack']>[1]>>().toEqualTypeOf<[Error | null, number[]]>();
expectTypeOf<Parameters<Parameters<CollectedWithTimeout['empty']>[0]>>().toEqualTypeOf<[Error | null, undefined[]]>();
expectTypeOf<DecorateAcknowledgementsWithTimeoutAndMultipleResponses<DefaultEventsMap>>().toEqualTypeOf<DefaultEventsMap>();
// io.timeout(): one answer per client, and the error says who is missing
type BroadcastWithTimeout = DecorateAcknowledgementsWithBroadcastTimeout<Shapes>;
expectTypeOf<Parameters<Parameters<BroadcastWithTimeout['ack']>[1]>>().toEqualTypeOf<[BroadcastTimeoutError | null, number[]]>();
expectTypeOf<Parameters<Parameters<BroadcastWithTimeout['errorFirst']>[0]>>().toEqualTypeOf<[Error, number[]]>();
expectTypeOf<DecorateAcknowledgementsWithBroadcastTimeout<DefaultEventsMap>>().toEqualTypeOf<DefaultEventsMap>();

// --- emitWithAck: arguments without the ack, the ack's first value -----------------------------------

expectTypeOf<EmitWithAckArgs<Shapes, 'ack'>>().toEqualTypeOf<[a: string]>();
expectTypeOf<EmitWithAckResult<Shapes, 'ack'>>().toEqualTypeOf<number>();
expectTypeOf<EmitWithAckResult<Shapes, 'empty'>>().toEqualTypeOf<undefined>();
expectTypeOf<EmitWithAckResult<Shapes, 'errorFirst'>>().toEqualTypeOf<number>();
expectTypeOf<EmitWithAckResult<Timed, 'ack'>>().toEqualTypeOf<number>();
expectTypeOf<EmitWithAckResult<CollectedWithTimeout, 'ack'>>().toEqualTypeOf<number[]>();
// an event without an ack keeps its arguments: the error is on the name, not on a payload
expectTypeOf<EmitWithAckArgs<Shapes, 'plain'>>().toEqualTypeOf<[a: string]>();
expectTypeOf<EmitWithAckResult<DefaultEventsMap, 'x'>>().toBeAny();
expectTypeOf<EmitWithAckArgs<DefaultEventsMap, 'x'>>().toEqualTypeOf<unknown[]>();
