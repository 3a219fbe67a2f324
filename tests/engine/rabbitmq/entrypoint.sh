#!/bin/sh
# The default user comes from RABBITMQ_DEFAULT_USER/RABBITMQ_DEFAULT_PASS, reachable from
# other containers (not only from localhost).
set -eu
cat > /etc/rabbitmq/rabbitmq.conf <<CONF
default_user = ${RABBITMQ_DEFAULT_USER:-guest}
default_pass = ${RABBITMQ_DEFAULT_PASS:-guest}
loopback_users = none
listeners.tcp.default = 5672
CONF
chown -R rabbitmq:rabbitmq /var/lib/rabbitmq
exec runuser -u rabbitmq -- /usr/sbin/rabbitmq-server
