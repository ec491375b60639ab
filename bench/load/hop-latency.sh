#!/usr/bin/env bash
# Where one user's end-to-end latency goes at a low, steady rate (a one-off probe, not part of npm run bench):
# starts `node dist/main.js both` on fresh databases and queues, warms it up for 8 s in a closed loop, then
# creates 502 users at 50 users/s (paced-users.lua) and prints the medians, in ms, of: the HTTP handler after
# the request's slot, the user's creation to the card service's transaction (hop 1), that transaction's
# handler, and the card's creation to the user service's storing transaction (hop 2), and the total.
# Usage: bench/load/hop-latency.sh PORT NAME (NAME prefixes the databases and queues; left behind afterwards).
# Needs wrk, psql and PostgreSQL's dblink extension (in postgresql-contrib).
set -e
cd "$(dirname "$0")/../.."
PORT=$1; NAME=$2
export HTTP_PORT=$PORT USER_DB_URL=postgres://postgres@127.0.0.1:5432/${NAME}_user CARD_DB_URL=postgres://postgres@127.0.0.1:5432/${NAME}_card USER_QUEUE=${NAME}_uq CARD_QUEUE=${NAME}_cq LOG_LEVEL=info
node dist/main.js both > /tmp/${NAME}.log 2>&1 &
PID=$!
sleep 5
wrk -t2 -c32 -d8s -s bench/load/create-users.lua http://127.0.0.1:$PORT/users -- warm 100000 > /dev/null 2>&1 || true
sleep 3
wrk -t2 -c64 -d12s --timeout 30s -s bench/load/paced-users.lua http://127.0.0.1:$PORT/users -- lat 251 25 2 > /dev/null 2>&1 || true
sleep 3
kill $PID; wait $PID || true
psql -qAt -h 127.0.0.1 -U postgres -d ${NAME}_user -c "create extension if not exists dblink" >/dev/null
echo "users http_ms hop1_ms card_handler_ms hop2_ms total_ms"
psql -qAt -h 127.0.0.1 -U postgres -d ${NAME}_user -F ' ' -c "
with u as (select u.id, (split_part(split_part(u.email,'@',1),'-',4))::bigint as sent_us, u.created_at, c.stored_at
  from users u join cards c on c.user_id=u.id where u.email like 'lat-%'),
r as (select * from dblink('dbname=${NAME}_card host=127.0.0.1 user=postgres', 'select u.id, u.received_at, c.created_at from users u join cards c on c.user_id=u.id') as t(id uuid, received_at timestamptz, card_created timestamptz)),
j as (select extract(epoch from u.created_at)*1000 - sent_us/1000.0 as http_ms,
  extract(epoch from r.received_at - u.created_at)*1000 as hop1_ms,
  extract(epoch from r.card_created - r.received_at)*1000 as card_tx_ms,
  extract(epoch from u.stored_at - r.card_created)*1000 as hop2_ms,
  extract(epoch from u.stored_at)*1000 - sent_us/1000.0 as total_ms from u join r using (id))
select count(*), round(percentile_cont(0.5) within group (order by http_ms)::numeric,1) http,
 round(percentile_cont(0.5) within group (order by hop1_ms)::numeric,1) hop1,
 round(percentile_cont(0.5) within group (order by card_tx_ms)::numeric,1) cardtx,
 round(percentile_cont(0.5) within group (order by hop2_ms)::numeric,1) hop2,
 round(percentile_cont(0.5) within group (order by total_ms)::numeric,1) total from j"
