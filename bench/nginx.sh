# bench/nginx.sh — the nginx configuration the serve benchmarks share
# (bash; source it): one worker, access log on (combined), sendfile and
# tcp_nopush, no request limit per connection, TLS 1.3 with the bench's
# certificate.
#
#   . bench/nginx.sh
#   nginx_conf "$work" "$root" "127.0.0.1:$N" "127.0.0.1:$NS ssl http2"
#
# writes $work/nginx.conf with one server block per listen argument (the
# root $root), logs in $work/logs-nginx and temporary files in
# $work/nginx-tmp (created), certificate $work/cert.pem and $work/key.pem.
nginx_conf() { # work root listen...
  local work=$1 root=$2 servers="" l
  shift 2
  # nginx 1.22 spells "http2 on" as a listen parameter.
  for l in "$@"; do servers+="  server { listen $l; root $root; }"$'\n'; done
  mkdir -p "$work/logs-nginx" "$work/nginx-tmp"
  cat > "$work/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/logs-nginx/error.log;
events { worker_connections 1024; }
http {
  types { application/xml xml; application/x-iso9660-image iso; }
  access_log $work/logs-nginx/access.log combined;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  http2_max_requests 1000000;
  client_body_temp_path $work/nginx-tmp;
  proxy_temp_path $work/nginx-tmp;
  fastcgi_temp_path $work/nginx-tmp;
  uwsgi_temp_path $work/nginx-tmp;
  scgi_temp_path $work/nginx-tmp;
  ssl_certificate $work/cert.pem;
  ssl_certificate_key $work/key.pem;
  ssl_protocols TLSv1.3;
$servers}
CONF
}
