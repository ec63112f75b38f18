// WebCrypto's types without the DOM lib: Node declares them under `webcrypto`.
import type { webcrypto } from "node:crypto";

export type Crypto = webcrypto.Crypto;
export type CryptoKey = webcrypto.CryptoKey;
export type CryptoKeyPair = webcrypto.CryptoKeyPair;
export type Algorithm = webcrypto.Algorithm;
export type EcdsaParams = webcrypto.EcdsaParams;
export type EcKeyImportParams = webcrypto.EcKeyImportParams;
export type RsaHashedImportParams = webcrypto.RsaHashedImportParams;
export type RsaHashedKeyAlgorithm = webcrypto.RsaHashedKeyAlgorithm;
