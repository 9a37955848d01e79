FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md beat_schedule.py ./
COPY catalog_ingest catalog_ingest
COPY models models
COPY migrations migrations
COPY workers workers
COPY tasks tasks
COPY cli cli
RUN pip install --no-cache-dir .
ENTRYPOINT ["ingest"]
