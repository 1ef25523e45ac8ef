#!/bin/sh
# gate.sh K: says its attempt, records its pid and times, waits (attempt
# 1 only) for the file go.K, ends with exit 0
echo "attempt $TRAINCTL_ATTEMPT of $1"
echo $$ >"pid.$1.$TRAINCTL_ATTEMPT"
date +%s.%N >"t0.$1.$TRAINCTL_ATTEMPT"
if [ "$TRAINCTL_ATTEMPT" -eq 1 ]; then
	while [ ! -e "go.$1" ]; do sleep 0.02; done
fi
echo "acc=$1"
date +%s.%N >"t1.$1.$TRAINCTL_ATTEMPT"
