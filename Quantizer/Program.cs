return Edge.Quantizer.QuantizerCli.Run(args, Console.Out, Console.Error);
