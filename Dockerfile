# The image the manifests in deploy/kubernetes run: a static binary (the
# SQLite driver is pure Go), no shell, a non-root user.
#   docker build -t registry.example/lookout:1 . && docker push registry.example/lookout:1
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /lookout ./cmd/lookout

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /lookout /lookout
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/lookout"]
