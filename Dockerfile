# Omnidesk image: one image for web (daphne), worker and beat (celery).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 OMNIDESK_DATA_DIR=/var/lib/omnidesk
WORKDIR /app

COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt setuptools==84.2.1 wheel==0.48.0

COPY . .
# Static files are served by WhiteNoise straight from the apps' static folders (WHITENOISE_USE_FINDERS).
RUN pip install --no-cache-dir --no-deps --no-build-isolation -e . \
    && useradd --system --home /var/lib/omnidesk omnidesk \
    && mkdir -p /var/lib/omnidesk && chown omnidesk /var/lib/omnidesk

USER omnidesk
EXPOSE 8000
CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "omnidesk.asgi:application"]
