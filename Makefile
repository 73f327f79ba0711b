# alpaca-jobs: the two commands a newcomer runs are `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test up install migrate train train-ads evaluate bench bench-gpu chaos chaos-tests clean finetune-demo dataset-table

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q "torch==2.13.0"
	$(BIN)/pip install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

migrate: $(STAMP)
	$(BIN)/alembic upgrade head
	$(BIN)/python -m scripts.register_models

test: $(STAMP)
	$(BIN)/pytest -q

# Issue 4's benchmarks P1-P5 (worker efficiency, small jobs, runtime, throughput, submit latency
# and worker memory), each a side-by-side ratio; prints the tables and the acceptance summary.
# A few minutes; uses PostgreSQL (POSTGRES_BENCH_URL) and Redis (REDIS_BENCH_URL, db 11).
bench: $(STAMP)
	$(BIN)/python -m bench.run_all $(BENCH_ARGS)

# bench/gpu.sh: images/s by batch size, eager vs compiled, fp32 vs bf16, on a lent GPU.
bench-gpu: $(STAMP)
	bench/gpu.sh

# The fault-injection cases of docs/reliability.md alone (make test runs them too).
chaos-tests: $(STAMP)
	$(BIN)/pytest -q -m chaos

# The soak: 10,000 items through the API under random worker kills and a Redis and a PostgreSQL
# restart, on private servers; prints the figures, fails if anything was lost or duplicated.
chaos: $(STAMP)
	$(BIN)/python -m bench.chaos

demo: $(STAMP)
	$(BIN)/python -m scripts.demo

up: $(STAMP)
	$(BIN)/python -m scripts.up

# Teach the default model a new colour word from 200 pairs, over HTTP; prints before -> after.
finetune-demo: $(STAMP)
	$(BIN)/python -m scripts.finetune_demo

# Train the default checkpoint from scratch (19 minutes on 2 cores; alpaca/README.md), then judge it.
train: $(STAMP)
	$(BIN)/python -m alpaca.training --out out/alpaca-default --steps 3000 --time-limit-s 1140 \
	    --threads 1 --lr 3e-3 --eval-every 500 --eval-n 64 --no-resume

# Train the ads model from scratch into out/ads, then refit its text encoder on the training
# briefs (alpaca_ads/train/refit.py) into out/ads-refit: 920 s + about 215 s, 19 minutes on
# 2 cores in all. Ship it by copying out/ads-refit over alpaca_ads/checkpoints/default.
train-ads: $(STAMP)
	$(BIN)/python -m alpaca_ads.train --out out/ads --time-limit-s 920 --threads 1 \
	    --checkpoint-every 200 --log-every 50 --no-resume
	$(BIN)/python -m alpaca_ads.train.refit --checkpoint out/ads --out out/ads-refit

evaluate: $(STAMP)
	$(BIN)/python -m alpaca.evaluate --n 1000 --rounds 3 $(EVAL_ARGS)

# The malformed-dataset acceptance table, as measured on the in-process app.
dataset-table: $(STAMP)
	$(BIN)/python -m bench.dataset_table

clean:
	rm -rf var out
