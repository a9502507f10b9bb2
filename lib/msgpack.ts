// Entry point `express-socket.io/msgpack`: the codec wire-compatible with socket.io-msgpack-parser.
export { msgpackCodec, MsgpackEncoder, MsgpackDecoder } from './codec/msgpack-codec';
export { DEFAULT_DECODE_LIMITS, type DecodeLimits } from './codec/packet-rules';
