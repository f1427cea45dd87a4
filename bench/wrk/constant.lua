-- The same request for every call (the bare Node.js ceiling).
-- wrk runs with bench/wrk as its working directory (bench/lib/wrk.mjs).
done = dofile('summary.lua')
