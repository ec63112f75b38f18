// Imported first by the weft-agent binary, so it runs before any module that could create a
// Headers object: see http/light-headers.ts for why the agent has its own.
import { installLightHeaders } from "../http/light-headers.js";

installLightHeaders();
