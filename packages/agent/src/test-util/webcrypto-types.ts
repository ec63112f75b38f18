// WebCrypto's types without the DOM lib: Node declares them under `webcrypto`.
import type { webcrypto } from "node:crypto";

export type Crypto = webcrypto.Crypto;
export type CryptoKeyPair = webcrypto.CryptoKeyPair;
export type EcdsaParams = webcrypto.EcdsaParams;
