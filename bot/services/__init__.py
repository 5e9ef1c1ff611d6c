"""Domain services: each public function owns one piece of the programme's rules; none knows Flask or LINE."""
