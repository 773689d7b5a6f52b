using System.CommandLine;
using Aha.Serving;
using Microsoft.Extensions.Hosting;

namespace Aha.Cli.Commands;

/// <summary>`aha serve`: the OpenAI-compatible HTTP API over one checkpoint (see <see cref="OpenAiServer"/>).</summary>
static class ServeCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "A checkpoint folder, or a run folder (uses its latest checkpoint).", Required = true };
        var adapter = new Option<string?>("--adapter") { Description = "A LoRA adapter folder (PEFT format) applied on top of --model." };
        var host = new Option<string>("--host") { Description = "Address to bind; anything but loopback needs --api-key-env.", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "Port to listen on.", DefaultValueFactory = _ => 8000 };
        var apiKeyEnv = new Option<string?>("--api-key-env") { Description = "Name of the environment variable holding the API key clients must send (Authorization: Bearer …)." };
        var maxBatch = new Option<int>("--max-batch") { Description = "Requests decoded together at most (continuous batching).", DefaultValueFactory = _ => 32 };
        var maxQueue = new Option<int>("--max-queue") { Description = "Requests waiting for a row at most; beyond it the server answers 429.", DefaultValueFactory = _ => 256 };
        var run = new RunOptions();
        var command = new Command("serve", "Serve a model over an OpenAI-compatible HTTP API (/v1/chat/completions, /v1/completions, /v1/models, /health), batching concurrent requests.")
        {
            model, adapter, host, port, apiKeyEnv, maxBatch, maxQueue, run.Threads, run.Device, run.Dtype,
        };
        command.SetAction(r => Cli.Run(() =>
        {
            string? key = null;
            if (r.GetValue(apiKeyEnv) is { } name)
            {
                key = Environment.GetEnvironmentVariable(name);
                if (string.IsNullOrEmpty(key)) throw new ArgumentException($"--api-key-env {name}: the environment variable {name} is not set or empty; export the key in it first.");
            }
            var options = new ServerOptions { Host = r.GetValue(host)!, Port = r.GetValue(port), ApiKey = key }.Validate();
            if (r.GetValue(maxBatch) <= 0 || r.GetValue(maxQueue) < 0) throw new ArgumentException("--max-batch must be positive and --max-queue ≥ 0.");
            var device = run.Initialize(r);
            using var served = ServedModel.Load(r.GetValue(model)!, r.GetValue(adapter), device, run.ComputeDtype(r), r.GetValue(maxBatch), r.GetValue(maxQueue));
            var app = OpenAiServer.Build(served, options);
            app.Start();
            Console.WriteLine($"serving '{served.Id}' on {OpenAiServer.Address(app)} (context {served.ContextLength}, max batch {r.GetValue(maxBatch)}, max queue {r.GetValue(maxQueue)}{(key is null ? "" : ", API key required")}); Ctrl-C stops.");
            app.WaitForShutdown();
        }));
        return command;
    }
}
