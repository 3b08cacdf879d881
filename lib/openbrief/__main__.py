from openbrief.cli import main

raise SystemExit(main())
