// bench/peers/nchan.mjs -- peer: Nchan (nginx + libnginx-mod-nchan, Debian packages), one
// process (`master_process off`: the worker is the process measured), memory store. `nchanConf(dir, port)` writes the nginx.conf that start() runs with
// `nginx -p DIR -c DIR/nginx.conf -g 'daemon off;'`: everything nginx writes (pid, logs, temp
// bodies) stays in DIR. The JSON API's paths map onto Nchan's own locations:
//   POST /api/v1/session   -> 201 {user:"x", auth:"open"} + Set-Cookie (nginx `return`)
//   GET  /api/v1/events    -> nchan_subscriber eventsource on channel `all`
//   POST /api/v1/messages  -> nchan_publisher on channel `all`: the body, as sent, is the
//                             message (201 with a subscriber, 202 without, text/plain stats)
// Nchan sends no `hello`: a subscriber is up when its response head arrived
// (bench/lib/sse-load.mjs `up: 'head'`). Messages are kept in shared memory for
// nchan_message_timeout (10 s here) for late subscribers, not stored.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const NCHAN_MODULE = '/usr/lib/nginx/modules/ngx_nchan_module.so';
export const NGINX = '/usr/sbin/nginx';

/** Why Nchan cannot run here, or null. */
export function nchanMissing() {
  if (!existsSync(NGINX)) return `${NGINX} not found (apt-get install nginx libnginx-mod-nchan)`;
  if (!existsSync(NCHAN_MODULE))
    return `${NCHAN_MODULE} not found (apt-get install libnginx-mod-nchan)`;
  return null;
}

/** Writes DIR/nginx.conf for `port` and returns nginx's arguments. */
export function nchanConf(dir, port) {
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `load_module ${NCHAN_MODULE};
master_process off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 19500; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_requests 1000000;
  nchan_max_reserved_memory 256M;
  server {
    listen 127.0.0.1:${port};
    location = /api/v1/session {
      default_type application/json;
      add_header Set-Cookie "ssechat_session=nchan; Path=/; HttpOnly";
      return 201 '{"user":"x","auth":"open"}';
    }
    location = /api/v1/events {
      nchan_subscriber eventsource;
      nchan_channel_id all;
    }
    location = /api/v1/messages {
      nchan_publisher;
      nchan_channel_id all;
      nchan_message_timeout 10s;
      nchan_message_buffer_length 100;
    }
  }
}
`,
  );
  return ['-p', dir, '-c', conf, '-g', 'daemon off;'];
}
