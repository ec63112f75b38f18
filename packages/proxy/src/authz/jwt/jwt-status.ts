// Envoy's jwt_verify statuses and the texts it sends as the 401/403 body
// (google::jwt_verify::getStatusString), so clients see the same reasons.
export const JwtStatus = {
  Ok: "Jwt verification is OK",
  Missed: "Jwt is missing",
  Expired: "Jwt is expired",
  NotYetValid: "Jwt not yet valid",
  LifetimeTooLong: "Jwt lifetime is too long",
  BadFormat: "Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections",
  HeaderBadBase64: "Jwt header is an invalid Base64url encoded",
  HeaderBadJson: "Jwt header is an invalid JSON",
  HeaderBadAlg: "Jwt header [alg] field is required and must be a string",
  HeaderNotImplementedAlg: "Jwt header [alg] is not supported",
  HeaderBadKid: "Jwt header [kid] field is not a string",
  PayloadBadBase64: "Jwt payload is an invalid Base64url encoded",
  PayloadBadJson: "Jwt payload is an invalid JSON",
  PayloadBadClaim: "Jwt payload has a claim of the wrong type",
  SignatureBadBase64: "Jwt signature is an invalid Base64url encoded",
  UnknownIssuer: "Jwt issuer is not configured",
  AudienceNotAllowed: "Audiences in Jwt are not allowed",
  SubjectNotAllowed: "Jwt subject is not allowed",
  VerificationFail: "Jwt verification fails",
  NoExpiration: "Jwt doesn't have the expiration field",
  KidAlgMismatch: "Jwks doesn't have key to match kid or alg from Jwt",
  JwksFetchFail: "Jwks remote fetch is failed",
  JwksNoValidKeys: "Jwks doesn't have any valid public key",
} as const;

export type JwtStatusText = (typeof JwtStatus)[keyof typeof JwtStatus];
