export { decodeId, isTestValue } from './decode.js'
export type { DecodedId } from './decode.js'
export { decodeHandle, encodeHandle, HANDLE_LENGTH } from './handle.js'
export type { DecodedHandle } from './handle.js'
export {
  encodeProcessField,
  encodeScope,
  encodeSeq,
  MAX_ID_LENGTH,
  MAX_PROCESS_NUMBER,
  processClaimKey,
  PROCESS_FIELD_PATTERN,
  RUN_TAG_LENGTH,
} from './id-format.js'
export type { ProcessFields } from './id-format.js'
export { DEFAULT_EMAIL_DOMAIN, IdIssuer } from './issuer.js'
export type { IdSource } from './issuer.js'
export { normaliseDomain, normaliseLabel, normaliseSlugLabel } from './labels.js'
export { createRunTag, parseRunTag, randomNonce } from './run-tag.js'
export { assertOwnedPrefix, escapeLike, likePrefix } from './sql-prefix.js'
