// The remote-write part's one public entry: body decompression, the RW1 scanner and error rendering.
// Other parts import from here only, never from the files behind it, and nothing here may keep state between
// requests.

export { BodyDecodeError, isBodyDecodeError } from './errors.js';
export type { BodyDecodeErrorCode } from './errors.js';
export { decompressSnappyBlock, snappyUncompressedLength } from './snappy-block.js';
export { scanWriteRequest } from './rw1-scanner.js';
export { describeSeries, MAX_DESCRIBED_RUNES } from './describe-series.js';
export { ingestionCost } from './request-info.js';
export type { RequestInfo, WriteFormat } from './request-info.js';
