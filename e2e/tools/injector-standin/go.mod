module istio-minikube/e2e/injector-standin

go 1.26
