// @peculiar/x509 needs a Reflect metadata polyfill evaluated before it (tsyringe); every
// ca-client module imports x509 through this file.
import "reflect-metadata";
export * from "@peculiar/x509";
