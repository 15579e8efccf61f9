package spreadsheet_test

import (
	"log"
	"os"

	"github.com/vssubs/vssubs-go/spreadsheet"
)

func ExampleWriteTemplate() {
	// Writes the spreadsheet users fill in; spreadsheet.CSV writes the CSV header instead.
	if err := spreadsheet.WriteTemplate(os.Stdout, spreadsheet.CSV); err != nil {
		log.Fatal(err)
	}
	// Output:
	// First name,Last name,Email,Subscription level,Reference,Country/region,Language,Downloads,Notification email
}
