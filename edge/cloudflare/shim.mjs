// The Worker's JavaScript entry: the module Workers load, around the wasm-bindgen glue
// (`index.js`, `index_bg.wasm`). It exports the fetch and email handlers and the Durable Object classes,
// and after a trap (a Rust panic aborts the instance) it resets the wasm instance before the
// next call, so one failed request does not poison the isolate.
import { WorkerEntrypoint, DurableObject } from "cloudflare:workers";
import * as exports from "./index.js";

const initState = exports.__worker_init_state();

function checkReinitialize() {
  if (initState.criticalError) {
    console.log("reinitializing the wasm instance after a trap");
    exports.__wbg_reset_state();
    initState.criticalError = false;
    initState.instanceId++;
  }
}

function noteCritical(e) {
  if (e instanceof WebAssembly.RuntimeError) {
    console.error("wasm trap", e);
    initState.criticalError = true;
  }
}

addEventListener("error", (e) => noteCritical(e.error));

async function guarded(call) {
  checkReinitialize();
  try {
    return await call();
  } catch (e) {
    noteCritical(e);
    throw e;
  }
}

export default class extends WorkerEntrypoint {
  fetch(request) {
    return guarded(() => exports.fetch.call(this, request, this.env, this.ctx));
  }

  // Email Routing delivers the tenants' support mail here.
  email(message) {
    return guarded(() => exports.email.call(this, message, this.env, this.ctx));
  }
}

// A Durable Object class around the Rust object of the same name. The Rust instance is created
// again after a reset, so an object outlives a trap of another request.
function durableObject(Rust) {
  return class extends DurableObject {
    constructor(ctx, env) {
      super(ctx, env);
      this.instanceId = initState.instanceId;
      this.inner = new Rust(ctx, env);
    }
    rust() {
      checkReinitialize();
      if (this.instanceId !== initState.instanceId) {
        this.inner = new Rust(this.ctx, this.env);
        this.instanceId = initState.instanceId;
      }
      return this.inner;
    }
    fetch(request) {
      return guarded(() => this.rust().fetch(request));
    }
    alarm(info) {
      return guarded(() => this.rust().alarm(info));
    }
    webSocketMessage(ws, message) {
      return guarded(() => this.rust().webSocketMessage(ws, message));
    }
    webSocketClose(ws, code, reason, wasClean) {
      return guarded(() => this.rust().webSocketClose(ws, code, reason, wasClean));
    }
    webSocketError(ws, error) {
      return guarded(() => this.rust().webSocketError(ws, error));
    }
  };
}

export const TenantObject = durableObject(exports.TenantObject);
export const ConversationObject = durableObject(exports.ConversationObject);
export const DirectoryObject = durableObject(exports.DirectoryObject);
export const SchedulerObject = durableObject(exports.SchedulerObject);
