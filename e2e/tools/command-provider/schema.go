package main

import "encoding/json"

// schemaJSON is a small package schema of our own for what this stand-in implements: the
// command:local:Command resource with the properties of v1.2.1 (descriptions left out), `triggers`
// marked replaceOnChanges as v1.2.1 marks it. The engine does not need it for `pulumi up`; it is
// there for `pulumi package get-schema` and the like.
var schemaJSON = func() string {
	str := map[string]any{"type": "string"}
	strs := map[string]any{"type": "array", "items": str}
	inputs := map[string]any{
		"triggers":               map[string]any{"type": "array", "items": map[string]any{"$ref": "pulumi.json#/Any"}, "replaceOnChanges": true},
		"create":                 str,
		"update":                 str,
		"delete":                 str,
		"stdin":                  str,
		"logging":                map[string]any{"$ref": "#/types/command:local:Logging"},
		"interpreter":            strs,
		"dir":                    str,
		"environment":            map[string]any{"type": "object", "additionalProperties": str},
		"assetPaths":             strs,
		"archivePaths":           strs,
		"addPreviousOutputInEnv": map[string]any{"type": "boolean"},
	}
	outputs := map[string]any{
		"stdout":  str,
		"stderr":  str,
		"assets":  map[string]any{"type": "object", "additionalProperties": map[string]any{"$ref": "pulumi.json#/AssetOrArchive"}},
		"archive": map[string]any{"$ref": "pulumi.json#/Archive"},
	}
	for k, v := range inputs {
		outputs[k] = v
	}
	spec := map[string]any{
		"name":        "command",
		"displayName": "Command",
		"version":     pluginVersion,
		"description": "Stand-in for pulumi-command 1.2.1's local.Command, for the istio-minikube real test tier.",
		"types": map[string]any{
			"command:local:Logging": map[string]any{
				"type": "string",
				"enum": []any{
					map[string]any{"name": "stdout", "value": "stdout"},
					map[string]any{"name": "stderr", "value": "stderr"},
					map[string]any{"name": "stdoutAndStderr", "value": "stdoutAndStderr"},
					map[string]any{"name": "none", "value": "none"},
				},
			},
		},
		"resources": map[string]any{
			commandToken: map[string]any{
				"inputProperties": inputs,
				"properties":      outputs,
				"required":        []string{"stderr", "stdout"},
			},
		},
	}
	b, err := json.Marshal(spec)
	if err != nil {
		panic(err)
	}
	return string(b)
}()
