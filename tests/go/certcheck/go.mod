module istio-minikube/tests/certcheck

go 1.22
