using System.CommandLine;
using System.Globalization;
using Aha.Serving;
using Microsoft.Extensions.AI;
using Spectre.Console;

namespace Aha.Cli.Commands;

/// <summary>
/// `aha chat`: a terminal conversation with a checkpoint through <see cref="AhaChatClient"/>. Tokens stream as they are
/// sampled, reasoning dimmed (or folded to one line with /think off); Ctrl-C stops the current answer, not the program.
/// </summary>
static class ChatCommand
{
    const string Help = "/reset clears the conversation · /system TEXT sets the system message · /temperature X · /think on|off shows or folds reasoning · /exit";

    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "A checkpoint folder, or a run folder (uses its latest checkpoint).", Required = true };
        var adapter = new Option<string?>("--adapter") { Description = "A LoRA adapter folder (PEFT format) applied on top of --model." };
        var system = new Option<string?>("--system") { Description = "A system message to start the conversation with." };
        var temperature = new Option<double>("--temperature") { Description = "0 = greedy.", DefaultValueFactory = _ => 0.6 };
        var maxTokens = new Option<int?>("--max-tokens") { Description = "New tokens per answer at most (default: up to the context)." };
        var run = new RunOptions();
        var command = new Command("chat", "Talk to a model in the terminal: streaming tokens, reasoning dimmed, /reset, /system, /temperature; Ctrl-C stops the answer.")
        {
            model, adapter, system, temperature, maxTokens, run.Threads, run.Device, run.Dtype,
        };
        command.SetAction(r => Cli.Run(() =>
        {
            var device = run.Initialize(r);
            using var client = new AhaChatClient(ServedModel.Load(r.GetValue(model)!, r.GetValue(adapter), device, run.ComputeDtype(r), maxBatch: 1), ownsModel: true);
            Loop(client, r.GetValue(system), r.GetValue(temperature), r.GetValue(maxTokens));
        }));
        return command;
    }

    static void Loop(AhaChatClient client, string? system, double temperature, int? maxTokens)
    {
        var history = new List<ChatMessage>();
        bool showThinking = true;
        CancellationTokenSource? answering = null;
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true; // never the program: the answer being written, if any
            answering?.Cancel();
        };
        var metadata = client.GetService<ChatClientMetadata>()!;
        AnsiConsole.MarkupLine($"[bold]{Markup.Escape(metadata.DefaultModelId ?? "model")}[/] [dim]— {Markup.Escape(Help)}[/]");
        while (true)
        {
            AnsiConsole.Markup("[green]> [/]");
            string? line = Console.ReadLine();
            if (line is null || line.Trim() == "/exit") return;
            if (line.StartsWith('/'))
            {
                var (name, argument) = (line.Split(' ', 2)[0], line.Contains(' ') ? line[(line.IndexOf(' ') + 1)..].Trim() : "");
                switch (name)
                {
                    case "/reset": history.Clear(); AnsiConsole.MarkupLine("[dim](conversation cleared)[/]"); break;
                    case "/system": system = argument.Length > 0 ? argument : null; history.Clear(); AnsiConsole.MarkupLine($"[dim](system message {(system is null ? "removed" : "set")}; conversation cleared)[/]"); break;
                    case "/temperature" when double.TryParse(argument, CultureInfo.InvariantCulture, out var t) && t >= 0: temperature = t; AnsiConsole.MarkupLine($"[dim](temperature {t})[/]"); break;
                    case "/think" when argument is "on" or "off": showThinking = argument == "on"; break;
                    default: AnsiConsole.MarkupLine($"[yellow]{Markup.Escape(Help)}[/]"); break;
                }
                continue;
            }
            if (line.Trim().Length == 0) continue;
            history.Add(new ChatMessage(ChatRole.User, line));
            var conversation = (system is null ? history : history.Prepend(new ChatMessage(ChatRole.System, system))).ToList();
            var options = new ChatOptions { Temperature = (float)temperature, MaxOutputTokens = maxTokens };
            answering = new CancellationTokenSource();
            var answer = new System.Text.StringBuilder();
            int thoughtChars = 0;
            try
            {
                foreach (var update in Enumerate(client.GetStreamingResponseAsync(conversation, options, answering.Token)))
                    foreach (var content in update.Contents)
                    {
                        if (content is TextReasoningContent reasoning)
                        {
                            thoughtChars += reasoning.Text.Length;
                            if (showThinking) AnsiConsole.Markup($"[dim]{Markup.Escape(reasoning.Text)}[/]");
                        }
                        else if (content is TextContent text)
                        {
                            if (thoughtChars > 0 && answer.Length == 0) Console.WriteLine(showThinking ? "" : $"[thought for {thoughtChars} characters]");
                            answer.Append(text.Text);
                            Console.Write(text.Text);
                        }
                        else if (content is UsageContent usage && update.FinishReason == ChatFinishReason.Length)
                            AnsiConsole.Markup($" [yellow](cut at {usage.Details.OutputTokenCount} tokens)[/]");
                    }
            }
            catch (OperationCanceledException)
            {
                AnsiConsole.Markup(" [yellow](stopped)[/]");
            }
            finally
            {
                var done = answering;
                answering = null;
                done.Dispose();
            }
            Console.WriteLine();
            // The reasoning is not sent back: R1-style models are trained on answers only in earlier turns.
            history.Add(new ChatMessage(ChatRole.Assistant, answer.ToString()));
        }
    }

    static IEnumerable<T> Enumerate<T>(IAsyncEnumerable<T> source)
    {
        var enumerator = source.GetAsyncEnumerator();
        try
        {
            while (enumerator.MoveNextAsync().AsTask().GetAwaiter().GetResult()) yield return enumerator.Current;
        }
        finally
        {
            enumerator.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }
}
