// @peculiar/x509 resolves its crypto providers through tsyringe, which needs a Reflect
// metadata polyfill loaded first; every CA module imports x509 through this file so the
// polyfill is always evaluated before the library.
import "reflect-metadata";
export * from "@peculiar/x509";
