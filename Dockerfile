# Omnidesk image: one image for web (gunicorn), realtime (uvicorn), worker and beat (celery).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 OMNIDESK_DATA_DIR=/var/lib/omnidesk
WORKDIR /app

COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt setuptools==84.2.1 wheel==0.48.0

COPY . .
# Installed as a package so that Python entry points register the built-in channel plugins (omnidesk.channels).
# No collectstatic: WhiteNoise serves static files straight from the apps' static folders (WHITENOISE_USE_FINDERS),
# and running manage.py here without DJANGO_SECRET_KEY would write a generated secret key into the image.
RUN pip install --no-cache-dir --no-deps --no-build-isolation -e . \
    && useradd --system --home /var/lib/omnidesk omnidesk \
    && mkdir -p /var/lib/omnidesk && chown omnidesk /var/lib/omnidesk

USER omnidesk
EXPOSE 8000
CMD ["gunicorn", "omnidesk.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "4"]
