module istio-minikube/e2e/sample-app

go 1.26
